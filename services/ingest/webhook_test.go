package ingest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/services/ingest/x"
)

func withX(t *testing.T, secret string) func(*Config) {
	path := filepath.Join(t.TempDir(), "x-secret")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *Config) {
		c.X = x.Config{SecretFile: path, Brands: "acme=2244994945"}
		c.MaxBodyBytes = 64 << 10
	}
}

func TestXWebhookAnswersCRCAndPublishesSignedEvents(t *testing.T) {
	const secret = "consumer-secret"
	svc, d := startIngest(t, withX(t, secret), withKeys(t))
	url := "http://" + svc.HTTPAddr() + "/v1/webhooks/x"

	resp, err := http.Get(url + "?crc_token=challenge-123")
	if err != nil {
		t.Fatal(err)
	}
	var crc struct {
		ResponseToken string `json:"response_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&crc)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || crc.ResponseToken != "sha256=+JKD3xCx1so7H9dYGqEd8qLRIIR3uCpi/4gsvLxmFd4=" {
		t.Fatalf("CRC: %d %+v", resp.StatusCode, crc)
	}

	body, err := os.ReadFile("x/testdata/account_activity.json")
	if err != nil {
		t.Fatal(err)
	}
	send := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
		req.Header.Set(x.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The webhook is signed by X, not by an API key: keys do not apply.
	if got := send(x.ResponseToken([]byte("wrong"), string(body))); got != http.StatusUnauthorized {
		t.Fatalf("forged signature: %d, want 401", got)
	}
	if got := published(t, d); got != 0 {
		t.Fatalf("forged delivery published %d", got)
	}
	sig := x.ResponseToken([]byte(secret), string(body))
	if got := send(sig); got != http.StatusOK {
		t.Fatalf("signed delivery: %d", got)
	}
	// X retries deliveries; the same posts are published once.
	if got := send(sig); got != http.StatusOK {
		t.Fatalf("redelivery: %d", got)
	}
	if got := published(t, d); got != 2 {
		t.Fatalf("%d published, want the mention and the brand reply", got)
	}
}
