package turn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTurnDefaultConfigValidates(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("disabled default: %v", err)
	}
	c.Enabled = true
	c.PublicIP = "203.0.113.7"
	c.Secret = testSecret
	if err := c.Validate(); err != nil {
		t.Fatalf("enabled default with public_ip: %v", err)
	}
}

func TestTurnConfigValidate(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte(testSecret), 0o644)
	private := filepath.Join(dir, "private")
	os.WriteFile(private, []byte(testSecret), 0o600)

	cases := []struct {
		name   string
		mutate func(*Config)
		key    string // "" = valid
		msg    string
	}{
		{"valid", func(*Config) {}, "", ""},
		{"secret file", func(c *Config) { c.Secret = ""; c.SecretFile = private }, "", ""},
		{"no listener", func(c *Config) { c.ListenUDP, c.ListenTCP = "", "" }, "listen_udp", "set listen_udp or listen_tcp"},
		{"bad udp", func(c *Config) { c.ListenUDP = "3478" }, "listen_udp", "not ip:port"},
		{"host name", func(c *Config) { c.ListenTCP = "turn.example:3478" }, "listen_tcp", "must be an IP address"},
		{"bad port", func(c *Config) { c.ListenUDP = "127.0.0.1:70000" }, "listen_udp", "0 to 65535"},
		{"cert without key", func(c *Config) { c.CertFile = private }, "cert_file", "both"},
		{"key readable", func(c *Config) { c.CertFile, c.KeyFile, c.ListenTLS = private, open, "127.0.0.1:0" }, "key_file", "chmod 600"},
		{"cert missing", func(c *Config) {
			c.CertFile, c.KeyFile, c.ListenTLS = filepath.Join(dir, "nope"), private, "127.0.0.1:0"
		}, "cert_file", "does not exist"},
		{"tls without address", func(c *Config) { c.CertFile, c.KeyFile, c.ListenTLS = private, private, "" }, "listen_tls", "must be set"},
		{"empty realm", func(c *Config) { c.Realm = "" }, "realm", "printable"},
		{"realm with space", func(c *Config) { c.Realm = "my realm" }, "realm", "printable"},
		{"public ipv6", func(c *Config) { c.PublicIP = "2001:db8::1" }, "public_ip", "IPv4"},
		{"public unspecified", func(c *Config) { c.PublicIP = "0.0.0.0" }, "public_ip", "IPv4"},
		{"relay ip name", func(c *Config) { c.RelayIP = "localhost" }, "relay_ip", "IPv4"},
		{"relay ipv6 mapped", func(c *Config) { c.RelayIPv6 = "::ffff:1.2.3.4" }, "relay_ipv6", "IPv6"},
		{"all addresses need public ip", func(c *Config) { c.RelayIP = "0.0.0.0" }, "public_ip", "required"},
		{"default listen needs public ip", func(c *Config) { c.RelayIP = ""; c.ListenUDP = "0.0.0.0:3478" }, "public_ip", "required"},
		{"relay follows listen host", func(c *Config) { c.RelayIP = ""; c.ListenUDP = "192.0.2.10:3478" }, "", ""},
		{"low ports", func(c *Config) { c.RelayPortMin, c.RelayPortMax = 80, 90 }, "relay_port_min", "1024"},
		{"inverted ports", func(c *Config) { c.RelayPortMin, c.RelayPortMax = 50000, 40000 }, "relay_port_max", "below"},
		{"two secrets", func(c *Config) { c.SecretFile = private }, "secret", "not both"},
		{"short secret", func(c *Config) { c.Secret = "short" }, "secret", "16"},
		{"open secret file", func(c *Config) { c.Secret = ""; c.SecretFile = open }, "secret_file", "chmod 600"},
		{"missing secret file", func(c *Config) { c.Secret = ""; c.SecretFile = filepath.Join(dir, "nope") }, "secret_file", "does not exist"},
		{"ttl too long", func(c *Config) { c.CredentialTTL = 2 * time.Hour }, "credential_ttl", "between 1m and 1h"},
		{"ttl zero", func(c *Config) { c.CredentialTTL = 0 }, "credential_ttl", "between"},
		{"lifetime too long", func(c *Config) { c.AllocationLifetime = 90 * time.Minute }, "allocation_lifetime", "between"},
		{"bad allow", func(c *Config) { c.AllowPeers = []string{"10.0.0.0/8", "bank"} }, "allow_peers[1]", "not a CIDR"},
		{"bad deny", func(c *Config) { c.DenyPeers = []string{"10.0.0.1:80"} }, "deny_peers[0]", "not a CIDR"},
		{"user quota", func(c *Config) { c.MaxAllocationsPerUser = 0 }, "max_allocations_per_user", "at least 1"},
		{"node quota", func(c *Config) { c.MaxAllocations = -1 }, "max_allocations", "at least 1"},
		{"connections", func(c *Config) { c.MaxConnections = 0 }, "max_connections", "at least 1"},
		{"bandwidth", func(c *Config) { c.BandwidthPerAllocation = 100 }, "bandwidth_per_allocation", "at least"},
		{"external urls", func(c *Config) {
			c.ExternalURLs = []string{"turn:turn.example-bank.de:3478?transport=udp", "turns:turn.example-bank.de:443?transport=tcp", "turn:203.0.113.7", "turn:[2001:db8::7]:3478"}
		}, "", ""},
		{"external url scheme", func(c *Config) { c.ExternalURLs = []string{"stun:turn.example:3478"} }, "external_urls[0]", "not a TURN URL"},
		{"external url transport", func(c *Config) { c.ExternalURLs = []string{"turn:turn.example:3478?transport=sctp"} }, "external_urls[0]", "not a TURN URL"},
		{"external url port", func(c *Config) { c.ExternalURLs = []string{"turns:turn.example:0"} }, "external_urls[0]", "not a TURN URL"},
		{"external url path", func(c *Config) { c.ExternalURLs = []string{"turn:user@turn.example"} }, "external_urls[0]", "not a TURN URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.mutate(&c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want *ConfigError", err)
			}
			if ce.Key != tc.key || !strings.Contains(ce.Msg, tc.msg) {
				t.Errorf("got %q, want key %q and a message containing %q", err, tc.key, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "turn."+tc.key+": ") {
				t.Errorf("message %q does not start with the key", err)
			}
		})
	}
}

// TestTurnExternalURLsCheckedWhenDisabled: lotse serve may hand out external
// relays without running its own.
func TestTurnExternalURLsCheckedWhenDisabled(t *testing.T) {
	c := DefaultConfig()
	c.ExternalURLs = []string{"http://turn.example"}
	if err := c.Validate(); err == nil {
		t.Fatal("a bad external URL passed with the relay disabled")
	}
	c.ExternalURLs = []string{"turns:turn.example-bank.de:443?transport=tcp"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	list, exp := ExternalICEServers(c, []byte(testSecret), "p-7", time.Unix(1_900_000_000, 0))
	if len(list) != 1 || list[0].URLs[0] != c.ExternalURLs[0] || list[0].Username != "1900000600:p-7" || !exp.Equal(time.Unix(1_900_000_600, 0)) {
		t.Errorf("got %+v, %v", list, exp)
	}
	if _, p := RESTCredentials([]byte(testSecret), "p-7", exp); list[0].Credential != p {
		t.Error("credential does not match RESTCredentials")
	}
}

// TestTurnSecretNeverPrinted: the configuration's secret redacts itself.
func TestTurnSecretNeverPrinted(t *testing.T) {
	c := testConfig()
	for _, s := range []string{c.Secret.String(), c.Secret.GoString()} {
		if strings.Contains(s, testSecret) {
			t.Fatalf("secret shown: %s", s)
		}
	}
}
