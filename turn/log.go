package turn

import (
	"fmt"

	"github.com/pion/logging"
	"github.com/rs/zerolog"
)

// pionLogs hands pion/turn's own log lines to zerolog. pion logs per
// request and, on socket errors, per packet, with the data in the message;
// so everything it says goes to debug (errors and warnings) or trace (the
// rest), never to info. Our own events are logged by Server with constant
// messages.
type pionLogs struct{ log zerolog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With().Str("pion", scope).Logger()}
}

type pionLogger struct{ log zerolog.Logger }

func (l pionLogger) logf(lvl zerolog.Level, format string, args ...any) {
	if e := l.log.WithLevel(lvl); e != nil {
		if len(args) > 0 {
			format = fmt.Sprintf(format, args...)
		}
		e.Str("detail", format).Msg("pion turn")
	}
}

func (l pionLogger) Trace(msg string)                  { l.logf(zerolog.TraceLevel, "%s", msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.logf(zerolog.TraceLevel, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.logf(zerolog.TraceLevel, "%s", msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(zerolog.TraceLevel, format, args...) }
func (l pionLogger) Info(msg string)                   { l.logf(zerolog.TraceLevel, "%s", msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(zerolog.TraceLevel, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.logf(zerolog.DebugLevel, "%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(zerolog.DebugLevel, format, args...) }
func (l pionLogger) Error(msg string)                  { l.logf(zerolog.DebugLevel, "%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(zerolog.DebugLevel, format, args...) }
