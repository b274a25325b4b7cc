package signaling

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lotse-io/lotse/store"
)

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2001:4860::1": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "::1": false, "fe80::1": false, "fc00::1": false, "::ffff:10.0.0.1": false,
		"64:ff9b::a00:1": false, "224.0.0.1": false, "198.18.0.1": false,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddr(%s) = %v", addr, got)
		}
	}
}

// TestWebhookRefusesPrivateTargets proves that, by default, a webhook
// pointing into the operator's network is refused at the dial: the check
// runs on the resolved address before any packet is sent.
func TestWebhookRefusesPrivateTargets(t *testing.T) {
	s := &Service{cfg: DefaultConfig()}
	client := s.webhookClient()
	for _, target := range []string{"http://127.0.0.1:9/x", "http://[::1]:9/x", "http://localhost:9/x"} {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", target, strings.NewReader("{}"))
		_, err := client.Do(req)
		if err == nil || !errors.Is(err, errPrivateTarget) {
			t.Errorf("%s: err %v, want errPrivateTarget", target, err)
		}
	}
}

func TestRetryDelaysGrow(t *testing.T) {
	prev := time.Duration(0)
	for i := 1; i <= 10; i++ {
		d := retryDelay(i)
		if d < prev {
			t.Fatalf("delay %d (%v) shorter than %v", i, d, prev)
		}
		prev = d
	}
	_ = store.WebhookDelivery{}
}

func TestSignatureVerifies(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	sig := Sign("whsec_x", at, []byte(`{"a":1}`))
	if sig != Sign("whsec_x", at, []byte(`{"a":1}`)) || sig == Sign("whsec_y", at, []byte(`{"a":1}`)) || !strings.HasPrefix(sig, "t=1800000000,v1=") {
		t.Fatalf("signature %q", sig)
	}
}
