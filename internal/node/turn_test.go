package node

import (
	"strings"
	"testing"
)

// TestJoinedCarriesTURNServers: every participant gets our relay in its ICE
// servers (UDP and TCP URLs, REST credentials for its own participant id),
// and nothing else — never a public STUN server.
func TestJoinedCarriesTURNServers(t *testing.T) {
	e := newEnv(t, fastHasher, nil)
	admin := e.mustLogin("demo", "admin@demo.local", adminPassword)
	conv := admin.createConversation(nil)
	tok := admin.staffToken(conv.ID)
	_, joined := e.joinWS(tok.JoinToken)
	if len(joined.ICEServers) != 1 {
		t.Fatalf("ice servers: %+v", joined.ICEServers)
	}
	s := joined.ICEServers[0]
	all := strings.Join(s.URLs, " ")
	if !strings.Contains(all, "turn:127.0.0.1:") || !strings.Contains(all, "?transport=udp") || !strings.Contains(all, "?transport=tcp") || strings.Contains(all, "stun:") {
		t.Fatalf("urls %v", s.URLs)
	}
	if !strings.HasSuffix(s.Username, ":"+tok.ParticipantID) || s.Credential == "" {
		t.Fatalf("credentials %q / %q", s.Username, s.Credential)
	}
}
