// Package config holds Lotse's typed configuration: one struct with a
// section per component, the defaults in one place (Default), strict YAML
// decoding that names the offending key, environment and flag overrides,
// and Validate, which says in one line what to fix.
package config

import (
	"time"

	"github.com/lotse-io/lotse/auth"
	"github.com/lotse-io/lotse/cobrowse"
	"github.com/lotse-io/lotse/internal/secret"
	"github.com/lotse-io/lotse/sfu"
	"github.com/lotse-io/lotse/signaling"
	"github.com/lotse-io/lotse/turn"
)

// Config is the whole configuration of a Lotse node.
type Config struct {
	// Listen is the HTTP listen address, host:port.
	Listen string `yaml:"listen"`
	// PublicURL is the URL browsers use to reach this node (scheme, host
	// and optional port, no path). Empty: derived from Listen.
	PublicURL string `yaml:"public_url"`
	// PublicURLDerived is true when PublicURL was not set but derived
	// from Listen.
	PublicURLDerived bool `yaml:"-"`
	// DataDir holds the SQLite database and generated secrets.
	DataDir string `yaml:"data_dir"`
	// Dev enables conveniences for a developer machine only: plain-HTTP
	// session cookies on loopback, loopback ICE candidates, the demo bank.
	Dev bool `yaml:"dev"`
	// DevBankListen is where dev mode serves the demo bank website (a
	// second origin with the SDK embedded).
	DevBankListen string `yaml:"dev_bank_listen"`

	Log       LogConfig        `yaml:"log"`
	HTTP      HTTPConfig       `yaml:"http"`
	TLS       TLSConfig        `yaml:"tls"`
	Store     StoreConfig      `yaml:"store"`
	Bootstrap BootstrapConfig  `yaml:"bootstrap"`
	Auth      auth.Config      `yaml:"auth"`
	Signaling signaling.Config `yaml:"signaling"`
	Cobrowse  cobrowse.Config  `yaml:"cobrowse"`
	TURN      turn.Config      `yaml:"turn"`
	SFU       sfu.Config       `yaml:"sfu"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is one of trace, debug, info, warn, error.
	Level string `yaml:"level"`
	// Format is auto (console on a terminal, else JSON), json or console.
	Format string `yaml:"format"`
}

// HTTPConfig configures the HTTP server.
type HTTPConfig struct {
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// MaxBodyBytes caps every request body (larger → 413).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxHeaderBytes caps request headers.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// DrainDelay is how long /readyz answers 503 after SIGTERM before the
	// listener closes, so load balancers stop sending new requests.
	DrainDelay time.Duration `yaml:"drain_delay"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// TrustedProxies lists CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// TLSConfig makes the node serve HTTPS itself.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	// KeyFile must not be readable by group or others.
	KeyFile string `yaml:"key_file"`
}

// StoreConfig configures persistence.
type StoreConfig struct {
	// Driver is "sqlite" (the embedded default).
	Driver string `yaml:"driver"`
	// SQLitePath defaults to <data_dir>/lotse.db.
	SQLitePath  string        `yaml:"sqlite_path"`
	BusyTimeout time.Duration `yaml:"busy_timeout"`
}

// BootstrapConfig controls the first-run tenant and admin.
type BootstrapConfig struct {
	AdminEmail string `yaml:"admin_email"`
	// AdminPasswordFile holds the first admin's password; it must not be
	// readable by group or others. LOTSE_BOOTSTRAP_ADMIN_PASSWORD wins.
	AdminPasswordFile string `yaml:"admin_password_file"`
	// AdminPassword is the first admin's password (prefer the file or
	// LOTSE_BOOTSTRAP_ADMIN_PASSWORD); printed redacted.
	AdminPassword Secret `yaml:"admin_password,omitempty"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Listen:        "127.0.0.1:8080",
		DataDir:       "./lotse-data",
		DevBankListen: "127.0.0.1:8081",
		Log:           LogConfig{Level: "info", Format: "auto"},
		HTTP: HTTPConfig{
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxBodyBytes:      1 << 20,
			MaxHeaderBytes:    64 << 10,
			DrainDelay:        time.Second,
			ShutdownTimeout:   8 * time.Second,
		},
		Store: StoreConfig{Driver: "sqlite", BusyTimeout: 5 * time.Second},
		Bootstrap: BootstrapConfig{
			AdminEmail: "admin@demo.local",
		},
		Auth:      auth.DefaultConfig(),
		Signaling: signaling.DefaultConfig(),
		Cobrowse:  cobrowse.DefaultConfig(),
		TURN:      defaultTURN(),
		SFU:       sfu.DefaultConfig(),
	}
}

// Secret is a configuration secret; it never shows its value.
type Secret = secret.String

// defaultTURN is the relay as lotse serve runs it out of the box: on, but
// like the HTTP listener only on loopback. A deployment reachable from the
// Internet sets turn.listen_udp/listen_tcp (e.g. 0.0.0.0:3478), turn.public_ip
// and, for turns:, a certificate (see docs/turn.md).
func defaultTURN() turn.Config {
	c := turn.DefaultConfig()
	c.Enabled = true
	c.ListenUDP, c.ListenTCP, c.ListenTLS = "127.0.0.1:3478", "127.0.0.1:3478", "127.0.0.1:5349"
	c.RelayIP = "127.0.0.1"
	return c
}
