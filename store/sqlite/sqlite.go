// Package sqlite is the embedded default store: a single SQLite file in the
// data directory, opened through modernc.org/sqlite (pure Go, no cgo).
//
// The database runs in WAL mode (readers never block the writer), with a
// busy timeout so that concurrent writers wait instead of failing, foreign
// keys enforced, and write transactions that take the lock when they begin
// (BEGIN IMMEDIATE) so that two writers cannot deadlock on a lock upgrade.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lotse-io/lotse/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema migrations embedded in the binary.
func Migrations() ([]store.Migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return store.LoadMigrations(sub)
}

// Config is the store section of the configuration.
type Config struct {
	// Path of the database file.
	Path string
	// BusyTimeout is how long a statement waits for a lock held by
	// another connection before it fails.
	BusyTimeout time.Duration
}

// DB is a Lotse store backed by one SQLite file. It implements store.Store.
type DB struct {
	db *sql.DB
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database at cfg.Path and applies the
// embedded migrations.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	return OpenWith(ctx, cfg, nil)
}

// OpenWith is Open with an explicit migration list; nil means the embedded
// migrations. Tests use it to apply a migration that fails.
func OpenWith(ctx context.Context, cfg Config, migs []store.Migration) (*DB, error) {
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + cfg.Path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.Path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", cfg.Path, err)
	}
	if migs == nil {
		if migs, err = Migrations(); err != nil {
			db.Close()
			return nil, err
		}
	}
	if _, err := store.Migrate(ctx, db, migs); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", cfg.Path, err)
	}
	return &DB{db: db}, nil
}

// SQL returns the underlying handle, for tests and for packages that keep
// their own tables in the same file.
func (d *DB) SQL() *sql.DB { return d.db }

// Ping reports whether the database answers a query.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// mapErr turns driver errors into store sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", store.ErrConflict, constraintName(se.Error()))
		}
	}
	return err
}

// constraintName keeps the column list of a UNIQUE failure ("users.tenant_id,
// users.email") and drops the rest of the driver's message.
func constraintName(msg string) string {
	if i := strings.LastIndex(msg, ":"); i >= 0 {
		return strings.TrimSpace(msg[i+1:])
	}
	return msg
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
