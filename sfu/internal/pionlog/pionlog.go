// Package pionlog routes the Pion WebRTC libraries' own log lines into
// zerolog. Pion logs free-form text, some of it on paths a hostile peer can
// trigger for every packet, so only its warnings and errors pass, at debug
// and warn level, through a rate limit; what the limit drops is counted.
package pionlog

import (
	"fmt"

	"github.com/pion/logging"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// Factory is a logging.LoggerFactory writing to a zerolog.Logger.
type Factory struct {
	log     zerolog.Logger
	limit   *rate.Limiter
	dropped func()
}

// New returns a factory that logs at most perSecond lines per second
// (bursts of 4×) and calls dropped (if not nil) for every line it drops.
func New(log zerolog.Logger, perSecond int, dropped func()) *Factory {
	return &Factory{log: log, limit: rate.NewLimiter(rate.Limit(perSecond), 4*perSecond), dropped: dropped}
}

// NewLogger returns the logger for one Pion scope (ice, dtls, pc, ...).
func (f *Factory) NewLogger(scope string) logging.LeveledLogger {
	return &logger{f: f, scope: scope}
}

type logger struct {
	f     *Factory
	scope string
}

func (l *logger) enabled(level zerolog.Level) bool {
	return level >= l.f.log.GetLevel() && level >= zerolog.GlobalLevel()
}

func (l *logger) emit(level zerolog.Level, msg string) {
	if !l.f.limit.Allow() {
		if l.f.dropped != nil {
			l.f.dropped()
		}
		return
	}
	l.f.log.WithLevel(level).Str("scope", l.scope).Str("detail", msg).Msg("webrtc library")
}

func (l *logger) Trace(string)          {}
func (l *logger) Tracef(string, ...any) {}
func (l *logger) Debug(string)          {}
func (l *logger) Debugf(string, ...any) {}
func (l *logger) Info(string)           {}
func (l *logger) Infof(string, ...any)  {}
func (l *logger) Warn(msg string)       { l.logf(zerolog.DebugLevel, "%s", msg) }
func (l *logger) Warnf(format string, args ...any) {
	l.logf(zerolog.DebugLevel, format, args...)
}
func (l *logger) Error(msg string) { l.logf(zerolog.WarnLevel, "%s", msg) }
func (l *logger) Errorf(format string, args ...any) {
	l.logf(zerolog.WarnLevel, format, args...)
}

func (l *logger) logf(level zerolog.Level, format string, args ...any) {
	if l.enabled(level) {
		l.emit(level, fmt.Sprintf(format, args...))
	}
}
