package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile honours umask
		t.Fatal(err)
	}
	return p
}

func noEnv(string) (string, bool) { return "", false }

func TestLoadDefaults(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Load("", noEnv, Overrides{"data_dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.PublicURL != "http://127.0.0.1:8080" || !cfg.PublicURLDerived {
		t.Errorf("listen %q public_url %q derived %v", cfg.Listen, cfg.PublicURL, cfg.PublicURLDerived)
	}
	if cfg.Store.SQLitePath != filepath.Join(dir, "lotse.db") {
		t.Errorf("sqlite path %q", cfg.Store.SQLitePath)
	}
	if cfg.HTTP.ReadHeaderTimeout != 10*time.Second || cfg.HTTP.MaxBodyBytes != 1<<20 {
		t.Errorf("http defaults %+v", cfg.HTTP)
	}
}

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "c.yaml", "listen: 127.0.0.1:9001\nlog:\n  level: debug\nhttp:\n  idle_timeout: 45s\n", 0o600)
	env := map[string]string{"LOTSE_LISTEN": "127.0.0.1:9002", "LOTSE_DATA_DIR": dir}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	cfg, err := Load(file, lookup, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9002" {
		t.Errorf("env should beat file: listen %q", cfg.Listen)
	}
	if cfg.Log.Level != "debug" || cfg.HTTP.IdleTimeout != 45*time.Second {
		t.Errorf("file values lost: %+v %v", cfg.Log, cfg.HTTP.IdleTimeout)
	}
	cfg, err = Load(file, lookup, Overrides{"listen": "127.0.0.1:9003"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9003" {
		t.Errorf("flag should beat env: listen %q", cfg.Listen)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := writeFile(t, dir, "plainfile", "x", 0o600)
	openKey := writeFile(t, dir, "open.key", "k", 0o644)
	groupKey := writeFile(t, dir, "group.key", "k", 0o640)
	goodKey := writeFile(t, dir, "good.key", "k", 0o600)
	cert := writeFile(t, dir, "cert.pem", "c", 0o644)
	openPw := writeFile(t, dir, "pw", "secret-password-123", 0o604)

	tests := []struct {
		name    string
		yaml    string // config file body; "" means no file
		env     map[string]string
		flags   Overrides
		wantKey string
		wantMsg string
	}{
		{name: "unknown top-level key", yaml: "listn: 127.0.0.1:1\n", wantKey: "listn", wantMsg: "unknown key"},
		{name: "unknown nested key", yaml: "http:\n  idle: 1s\n", wantKey: "http.idle", wantMsg: "unknown key"},
		{name: "duplicate key", yaml: "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", wantKey: "listen", wantMsg: "more than once"},
		{name: "port out of range in file", yaml: "listen: 127.0.0.1:99999\n", wantKey: "listen", wantMsg: "0 to 65535"},
		{name: "port not a number", flags: Overrides{"listen": "127.0.0.1:http"}, wantKey: "listen", wantMsg: "0 to 65535"},
		{name: "listen without port", env: map[string]string{"LOTSE_LISTEN": "localhost"}, wantKey: "listen", wantMsg: "host:port"},
		{name: "bad duration", yaml: "http:\n  idle_timeout: 5 parsecs\n", wantKey: "http.idle_timeout", wantMsg: "invalid duration"},
		{name: "negative duration", yaml: "http:\n  read_timeout: -1s\n", wantKey: "http.read_timeout", wantMsg: "invalid duration"},
		{name: "zero duration", yaml: "store:\n  busy_timeout: 0s\n", wantKey: "store.busy_timeout", wantMsg: "greater than 0"},
		{name: "bool expected", yaml: "dev: maybe\n", wantKey: "dev", wantMsg: "true or false"},
		{name: "number expected", yaml: "http:\n  max_body_bytes: lots\n", wantKey: "http.max_body_bytes", wantMsg: "whole number"},
		{name: "mapping expected", yaml: "http: 5\n", wantKey: "http", wantMsg: "mapping"},
		{name: "list expected", yaml: "http:\n  trusted_proxies: 10.0.0.0/8\n", wantKey: "http.trusted_proxies", wantMsg: "list"},
		{name: "bad cidr", yaml: "http:\n  trusted_proxies: [10.0.0.0/33]\n", wantKey: "http.trusted_proxies[0]", wantMsg: "CIDR"},
		{name: "bad log level", env: map[string]string{"LOTSE_LOG_LEVEL": "loud"}, wantKey: "log.level", wantMsg: "loud"},
		{name: "bad public url", flags: Overrides{"public_url": "ftp://x"}, wantKey: "public_url", wantMsg: "origin"},
		{name: "public url with path", flags: Overrides{"public_url": "https://x.example/lotse"}, wantKey: "public_url", wantMsg: "origin"},
		{name: "unwritable data dir", flags: Overrides{"data_dir": filepath.Join(notDir, "sub")}, wantKey: "data_dir", wantMsg: "cannot create"},
		{name: "unknown ice policy", yaml: "signaling:\n  ice_transport_policy: stun\n", wantKey: "signaling", wantMsg: "ice_transport_policy"},
		{name: "relay policy without relay", yaml: "signaling:\n  ice_transport_policy: relay\nturn:\n  enabled: false\n", wantKey: "signaling.ice_transport_policy", wantMsg: "needs a TURN relay"},
		{name: "data dir is a file", flags: Overrides{"data_dir": notDir}, wantKey: "data_dir", wantMsg: "not a directory"},
		{name: "tls key readable by others", yaml: "tls:\n  cert_file: " + cert + "\n  key_file: " + openKey + "\n", wantKey: "tls.key_file", wantMsg: "chmod 600"},
		{name: "tls key readable by group", yaml: "tls:\n  cert_file: " + cert + "\n  key_file: " + groupKey + "\n", wantKey: "tls.key_file", wantMsg: "group or others"},
		{name: "tls key missing", yaml: "tls:\n  cert_file: " + cert + "\n  key_file: " + filepath.Join(dir, "nope") + "\n", wantKey: "tls.key_file", wantMsg: "does not exist"},
		{name: "tls half set", yaml: "tls:\n  key_file: " + goodKey + "\n", wantKey: "tls", wantMsg: "both"},
		{name: "password file readable by others", yaml: "bootstrap:\n  admin_password_file: " + openPw + "\n", wantKey: "bootstrap.admin_password_file", wantMsg: "chmod 600"},
		{name: "unsupported store", yaml: "store:\n  driver: mysql\n", wantKey: "store.driver", wantMsg: "not supported"},
		{name: "invalid yaml", yaml: "listen: [\n", wantKey: "(file)", wantMsg: "YAML"},
		{name: "alias", yaml: "log: &x {level: info}\nhttp: *x\n", wantKey: "http", wantMsg: "aliases"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := ""
			if tc.yaml != "" {
				file = writeFile(t, t.TempDir(), "lotse.yaml", tc.yaml, 0o600)
			}
			env := map[string]string{"LOTSE_DATA_DIR": t.TempDir()}
			for k, v := range tc.env {
				env[k] = v
			}
			lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
			_, err := Load(file, lookup, tc.flags)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load = %v, want *config.Error", err)
			}
			if !strings.HasPrefix(ce.Key, tc.wantKey) && !strings.Contains(ce.Key, tc.wantKey) {
				t.Errorf("key = %q, want it to name %q (error: %v)", ce.Key, tc.wantKey, err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not say %q", err, tc.wantMsg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
		})
	}
}

func TestMissingConfigFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), noEnv, nil)
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err = %v", err)
	}
}

func TestPrintRedactsSecrets(t *testing.T) {
	env := map[string]string{"LOTSE_DATA_DIR": t.TempDir(), "LOTSE_BOOTSTRAP_ADMIN_PASSWORD": "hunter2-hunter2-hunter2"}
	cfg, err := Load("", func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bootstrap.AdminPassword.Reveal() != "hunter2-hunter2-hunter2" {
		t.Fatal("secret not loaded from env")
	}
	out, err := cfg.Print()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "hunter2") || !strings.Contains(string(out), "[redacted]") {
		t.Fatalf("printed config leaks or hides the secret's presence:\n%s", out)
	}
	for _, s := range []string{cfg.Bootstrap.AdminPassword.String(), cfg.Bootstrap.AdminPassword.GoString()} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("secret formatted as %q", s)
		}
	}
	// The printed configuration is itself a valid configuration.
	var again = Default()
	if err := Decode(out, &again); err != nil {
		t.Fatalf("printed config does not decode: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"listen: 127.0.0.1:1\n", "http:\n  idle_timeout: 5s\n", "http: 5\n", "dev: yes\n",
		"a: &x 1\nb: *x\n", "http:\n  trusted_proxies: [1, [2]]\n", "{", "- 1\n- 2\n", "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Default()
		err := Decode(data, &cfg)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Decode returned %T %v, want *Error", err, err)
			}
		}
	})
}
