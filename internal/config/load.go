package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lotse-io/lotse/internal/secret"
	"github.com/lotse-io/lotse/turn"
)

// EnvVars maps environment variables to the settings they override. They
// win over the file; flags win over them.
var EnvVars = map[string]string{
	"LOTSE_LISTEN":                   "listen",
	"LOTSE_PUBLIC_URL":               "public_url",
	"LOTSE_DATA_DIR":                 "data_dir",
	"LOTSE_DEV":                      "dev",
	"LOTSE_LOG_LEVEL":                "log.level",
	"LOTSE_LOG_FORMAT":               "log.format",
	"LOTSE_BOOTSTRAP_ADMIN_EMAIL":    "bootstrap.admin_email",
	"LOTSE_BOOTSTRAP_ADMIN_PASSWORD": "", // secret: no file key
	"LOTSE_TURN_ENABLED":             "turn.enabled",
	"LOTSE_TURN_SECRET":              "", // secret: no file key
}

// Overrides are the values given on the command line (only those the user
// actually set).
type Overrides map[string]string

// Load builds the effective configuration: defaults, then the YAML file at
// path (if any), then environment variables (lookup, usually os.LookupEnv),
// then flag overrides; it then validates the result.
func Load(path string, lookup func(string) (string, bool), flags Overrides) (Config, error) {
	cfg := Default()
	source := map[string]string{} // setting → where it was last set, for error messages
	if path != "" {
		data, err := readLimited(path)
		if err != nil {
			return Config{}, &Error{Key: "--config " + path, Msg: secret.DescribeFileError(err)}
		}
		if err := Decode(data, &cfg); err != nil {
			var ce *Error
			if errors.As(err, &ce) {
				ce.Key = ce.Key + " (in " + path + ")"
			}
			return Config{}, err
		}
	}
	if lookup != nil {
		for env, key := range EnvVars {
			val, ok := lookup(env)
			if !ok || val == "" {
				continue
			}
			switch env {
			case "LOTSE_BOOTSTRAP_ADMIN_PASSWORD":
				cfg.Bootstrap.AdminPassword = Secret(val)
				continue
			case "LOTSE_TURN_SECRET":
				cfg.TURN.Secret = Secret(val)
				continue
			}
			if err := set(&cfg, key, val); err != nil {
				return Config{}, &Error{Key: env, Msg: err.Error()}
			}
			source[key] = env
		}
	}
	for key, val := range flags {
		flag := "--" + strings.NewReplacer("_", "-", ".", "-").Replace(key)
		if err := set(&cfg, key, val); err != nil {
			return Config{}, &Error{Key: flag, Msg: err.Error()}
		}
		source[key] = flag
	}
	if err := cfg.Validate(); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			if src, ok := source[ce.Key]; ok {
				ce.Key += " (from " + src + ")"
			} else if path != "" && ce.Key != "data_dir" {
				ce.Key += " (in " + path + ")"
			}
		}
		return Config{}, err
	}
	return cfg, nil
}

// set assigns one setting from a string, reusing the strict decoder so that
// the rules are the same as in the file.
func set(cfg *Config, key, val string) error {
	// Build {a: {b: val}} and decode it; quoting keeps val a string scalar
	// unless the setting wants a bool.
	parts := strings.Split(key, ".")
	node := &yaml.Node{Kind: yaml.ScalarNode, Value: val, Tag: "!!str", Line: 1}
	for i := len(parts) - 1; i >= 0; i-- {
		node = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: parts[i], Tag: "!!str"}, node}}
	}
	err := decodeInto(node, reflectValue(cfg), "")
	var ce *Error
	if errors.As(err, &ce) {
		return errors.New(strings.TrimPrefix(ce.Msg, "line 1: "))
	}
	return err
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
}

// Validate checks every setting and fills in derived ones (PublicURL when
// empty, Store.SQLitePath). It creates the data directory if needed and
// makes sure it is writable. The first problem is returned as *Error.
func (c *Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return &Error{Key: "listen", Msg: fmt.Sprintf("%q is not host:port", c.Listen)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return &Error{Key: "listen", Msg: fmt.Sprintf("port %q must be a number from 0 to 65535", port)}
	}
	if c.PublicURL == "" {
		h := host
		if h == "" || h == "0.0.0.0" || h == "::" {
			h = "127.0.0.1"
		}
		scheme := "http"
		if c.TLS.CertFile != "" {
			scheme = "https"
		}
		c.PublicURL = scheme + "://" + net.JoinHostPort(h, port)
		c.PublicURLDerived = true
	} else {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return &Error{Key: "public_url", Msg: fmt.Sprintf("%q must be an http or https origin such as https://lotse.example-bank.de", c.PublicURL)}
		}
		c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	}
	if c.Dev {
		if _, port, err := net.SplitHostPort(c.DevBankListen); err != nil || port == "" {
			return &Error{Key: "dev_bank_listen", Msg: fmt.Sprintf("%q is not host:port", c.DevBankListen)}
		}
	}
	switch strings.ToLower(c.Log.Level) {
	case "trace", "debug", "info", "warn", "error":
		c.Log.Level = strings.ToLower(c.Log.Level)
	default:
		return &Error{Key: "log.level", Msg: fmt.Sprintf("%q is not one of trace, debug, info, warn, error", c.Log.Level)}
	}
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		return &Error{Key: "log.format", Msg: fmt.Sprintf("%q is not one of auto, json, console", c.Log.Format)}
	}
	for key, d := range map[string]int64{
		"http.read_header_timeout": int64(c.HTTP.ReadHeaderTimeout),
		"http.read_timeout":        int64(c.HTTP.ReadTimeout),
		"http.idle_timeout":        int64(c.HTTP.IdleTimeout),
		"http.shutdown_timeout":    int64(c.HTTP.ShutdownTimeout),
		"store.busy_timeout":       int64(c.Store.BusyTimeout),
	} {
		if d <= 0 {
			return &Error{Key: key, Msg: "must be greater than 0"}
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		return &Error{Key: "http.max_body_bytes", Msg: "must be at least 1024"}
	}
	if c.HTTP.MaxHeaderBytes < 4096 {
		return &Error{Key: "http.max_header_bytes", Msg: "must be at least 4096"}
	}
	for i, cidr := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			return &Error{Key: fmt.Sprintf("http.trusted_proxies[%d]", i), Msg: fmt.Sprintf("%q is not a CIDR such as 10.0.0.0/8", cidr)}
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return &Error{Key: "tls", Msg: "set both cert_file and key_file, or neither"}
	}
	if c.TLS.CertFile != "" {
		if err := secret.CheckReadable(c.TLS.CertFile); err != nil {
			return &Error{Key: "tls.cert_file", Msg: err.Error()}
		}
		if err := secret.CheckFile(c.TLS.KeyFile); err != nil {
			return &Error{Key: "tls.key_file", Msg: err.Error()}
		}
	}
	if c.Bootstrap.AdminPasswordFile != "" {
		if err := secret.CheckFile(c.Bootstrap.AdminPasswordFile); err != nil {
			return &Error{Key: "bootstrap.admin_password_file", Msg: err.Error()}
		}
	}
	if err := c.Auth.Validate(); err != nil {
		return sectionError("auth", err)
	}
	if err := c.Signaling.Validate(); err != nil {
		return sectionError("signaling", err)
	}
	if c.Dev {
		// A developer machine: media stays on loopback (see docs/media.md).
		if c.SFU.ListenIP == "" {
			c.SFU.ListenIP = "127.0.0.1"
		}
		c.SFU.LoopbackCandidates = true
	}
	if err := c.SFU.Validate(); err != nil {
		return sectionError("sfu", err)
	}
	if err := c.TURN.Validate(); err != nil {
		var te *turn.ConfigError
		if errors.As(err, &te) {
			return &Error{Key: "turn." + te.Key, Msg: te.Msg}
		}
		return &Error{Key: "turn", Msg: err.Error()}
	}
	if c.Signaling.ICETransportPolicy == "relay" && !c.TURN.Enabled && len(c.TURN.ExternalURLs) == 0 {
		return &Error{Key: "signaling.ice_transport_policy", Msg: `"relay" needs a TURN relay (turn.enabled or turn.external_urls)`}
	}
	if err := c.Cobrowse.Validate(); err != nil {
		key, msg, _ := strings.Cut(err.Error(), ": ")
		return &Error{Key: key, Msg: msg} // cobrowse names its keys in full
	}
	if c.Store.Driver != "sqlite" {
		return &Error{Key: "store.driver", Msg: fmt.Sprintf("%q is not supported (use sqlite)", c.Store.Driver)}
	}
	if c.DataDir == "" {
		return &Error{Key: "data_dir", Msg: "must not be empty"}
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return &Error{Key: "data_dir", Msg: err.Error()}
	}
	c.DataDir = abs
	if err := ensureWritableDir(c.DataDir); err != nil {
		return &Error{Key: "data_dir", Msg: c.DataDir + ": " + err.Error()}
	}
	if c.Store.SQLitePath == "" {
		c.Store.SQLitePath = filepath.Join(c.DataDir, "lotse.db")
	}
	return nil
}

func ensureWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("cannot create directory: %v", pe.Err)
		}
		return fmt.Errorf("cannot create directory: %v", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return errors.New("not a directory")
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return errors.New("not writable")
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// SetListenPort records the port the listener actually got (for "port 0")
// in Listen and, when it was derived, in PublicURL.
func (c *Config) SetListenPort(port int) {
	host, _, _ := net.SplitHostPort(c.Listen)
	c.Listen = net.JoinHostPort(host, strconv.Itoa(port))
	if c.PublicURLDerived {
		u, _ := url.Parse(c.PublicURL)
		u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
		c.PublicURL = u.String()
	}
}

// Print writes the effective configuration as YAML, with secrets redacted.
func (c Config) Print() ([]byte, error) {
	return yaml.Marshal(c)
}

// sectionError turns a component's "key: message" validation error into an
// *Error naming section.key.
func sectionError(section string, err error) error {
	key, msg, ok := strings.Cut(err.Error(), ": ")
	if !ok {
		return &Error{Key: section, Msg: err.Error()}
	}
	return &Error{Key: section + "." + key, Msg: msg}
}
