package ingest

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// The keys every ingest test's service accepts: a partner's key for acme,
// another brand's key, and a person's key that may only read cases.
const (
	testKey   = "0123456789abcdef0123"
	globexKey = "globex-key-0123456789"
	viewerKey = "viewer-key-0123456789"
)

func keysFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "keys")
	keys := "partner:" + testKey + " roles=ingest brands=acme\n" +
		"globex-bot:" + globexKey + " roles=ingest brands=globex\n" +
		"vic:" + viewerKey + " roles=viewer\n"
	if err := os.WriteFile(path, []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// post sends body with header, or with the partner's key when header is nil.
func post(t *testing.T, svc *Service, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+svc.HTTPAddr()+"/v1/mentions", strings.NewReader(body))
	if header == nil {
		header = http.Header{"Authorization": {"Bearer " + testKey}}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestEdgeRefusesWithoutAValidKey(t *testing.T) {
	svc, d := startIngest(t)
	for name, c := range map[string]struct {
		h    http.Header
		code int
		says string
	}{
		"no key":         {http.Header{}, http.StatusUnauthorized, "Authorization: Bearer"},
		"wrong key":      {http.Header{"Authorization": {"Bearer wrongwrongwrongwrong"}}, http.StatusUnauthorized, "unknown API key"},
		"a viewer's key": {http.Header{"Authorization": {"Bearer " + viewerKey}}, http.StatusForbidden, "needs role ingest"},
	} {
		resp, body := post(t, svc, one("k1"), c.h)
		if resp.StatusCode != c.code || !strings.Contains(body, c.says) {
			t.Fatalf("%s: got %d %s", name, resp.StatusCode, body)
		}
	}
	resp, body := post(t, svc, one("k1"), http.Header{"X-Api-Key": {testKey}})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("right key: got %d %s", resp.StatusCode, body)
	}
	if got := published(t, d); got != 1 {
		t.Fatalf("%d published, want 1", got)
	}
}

func TestEdgeRefusesBadInputWithReasons(t *testing.T) {
	svc, d := startIngest(t)
	tests := []struct{ name, body, want string }{
		{"invalid UTF-8", "{\"platform\":\"x\",\"text\":\"\xff\"}", "not valid UTF-8"},
		{"missing author", `{"platform":"x","platform_id":"1","brand":"acme","text":"hi"}`, "author.id is missing"},
		{"absurd followers", `{"platform":"x","platform_id":"1","brand":"acme","author":{"id":"a","followers":99999999999999},"text":"hi"}`, "followers"},
		{"created far in the future", `{"platform":"x","platform_id":"1","brand":"acme","author":{"id":"a"},"text":"hi","created_at":"2999-01-01T00:00:00Z"}`, "in the future"},
		{"unknown field", `{"platform":"x","platform_id":"1","brand":"acme","author":{"id":"a"},"text":"hi","colour":"red"}`, "unknown field"},
	}
	for _, tc := range tests {
		resp, body := post(t, svc, tc.body, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.want) || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: got %d %s", tc.name, resp.StatusCode, body)
		}
	}
	if got := published(t, d); got != 0 {
		t.Fatalf("%d published, want 0", got)
	}
}

func TestEdgeRateLimitsEachKeyWithRetryAfter(t *testing.T) {
	svc, _ := startIngest(t, func(c *Config) { c.RatePerKey = 0.5; c.RateBurst = 3 })
	h := http.Header{"Authorization": {"Bearer " + testKey}}
	batch := one("r1") + "\n" + one("r2") + "\n" + one("r3")
	if resp, body := post(t, svc, batch, h); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first batch: %d %s", resp.StatusCode, body)
	}
	resp, body := post(t, svc, one("r4"), h)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" || !strings.Contains(body, "rate limit") {
		t.Fatalf("over the rate: %d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func TestEdgeRefusesBeyondInFlightBoundWith503(t *testing.T) {
	svc, d := startIngest(t, func(c *Config) { c.MaxInFlight = 2 })
	// Hold both slots, as two slow publishes would.
	for range 2 {
		if err := svc.guard.enter(); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := post(t, svc, one("o1"), nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "in flight") {
		t.Fatalf("overloaded: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	svc.guard.release()
	if resp, body := post(t, svc, one("o1"), nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after a slot frees: %d %s", resp.StatusCode, body)
	}
	if got := published(t, d); got != 1 {
		t.Fatalf("%d published, want 1", got)
	}
}

func TestGRPCSubmitNeedsKey(t *testing.T) {
	svc, _ := startIngest(t)
	conn, err := rpc.Dial(svc.GRPCAddr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := fbv1.NewIngestServiceClient(conn)
	m := &fbv1.Mention{Platform: fbv1.Platform_PLATFORM_MASTODON, PlatformId: "7", Brand: "acme", Author: &fbv1.Author{Id: "a"}, Text: "hi"}
	_, err = client.Submit(context.Background(), &fbv1.SubmitRequest{Mentions: []*fbv1.Mention{m}})
	if err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Fatalf("without key: %v", err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+testKey)
	if _, err := client.Submit(ctx, &fbv1.SubmitRequest{Mentions: []*fbv1.Mention{m}}); err != nil {
		t.Fatalf("with key: %v", err)
	}
}

// A brand reply is taken only from the brand's configured account: a
// caller cannot end a customer's streak by claiming to be the brand.
func TestEdgeTakesBrandRepliesOnlyFromTheBrandsAccount(t *testing.T) {
	svc, d := startIngest(t, func(c *Config) { c.BrandAccounts = "acme=x:acme-care" })
	replyFrom := func(id, author string) string {
		return `{"platform":"x","platform_id":"` + id + `","brand":"acme","author":{"id":"` + author + `"},"text":"calm down","brand_reply":true,"reply_to_author_id":"u42"}`
	}
	resp, body := post(t, svc, replyFrom("br1", "u42"), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `not acme's own x account (acme-care)`) || !strings.Contains(body, `"index":0`) {
		t.Fatalf("brand reply from a customer: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, svc, `{"platform":"mastodon","platform_id":"br2","brand":"acme","author":{"id":"a"},"text":"hi","brand_reply":true,"reply_to_author_id":"u42"}`, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "--brand-accounts=acme=mastodon:") {
		t.Fatalf("brand reply on a platform with no account: %d %s", resp.StatusCode, body)
	}
	if resp, body := post(t, svc, replyFrom("br3", "acme-care"), nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("brand reply from the brand's account: %d %s", resp.StatusCode, body)
	}
	conn, err := rpc.Dial(svc.GRPCAddr(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	forged := &fbv1.Mention{Platform: fbv1.Platform_PLATFORM_X, PlatformId: "br4", Brand: "acme", Author: &fbv1.Author{Id: "u42"}, Text: "hi",
		BrandReply: true, ReplyToAuthorId: "u7"}
	_, err = fbv1.NewIngestServiceClient(conn).Submit(context.Background(), &fbv1.SubmitRequest{Mentions: []*fbv1.Mention{forged}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "not acme's own x account") {
		t.Fatalf("gRPC brand reply from a customer: %v", err)
	}
	if got := published(t, d); got != 1 {
		t.Fatalf("%d published, want only the real brand reply", got)
	}
}

// stalledBody is a request body that never arrives: a handler that tried
// to read it would hang, so an answer proves the body was not read.
func stalledBody(t *testing.T) io.Reader {
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	return r
}

func TestEdgeRefusesOverLimitsBeforeReadingTheBody(t *testing.T) {
	svc, _ := startIngest(t, func(c *Config) { c.RatePerKey = 0.001; c.RateBurst = 3; c.MaxInFlight = 1 })
	h := http.Header{"Authorization": {"Bearer " + testKey}, "Content-Type": {"application/json"}}
	send := func() *http.Response {
		req, _ := http.NewRequest(http.MethodPost, "http://"+svc.HTTPAddr()+"/v1/mentions", stalledBody(t))
		req.Header = h.Clone()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.Cleanup(cancel)
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatalf("no answer without the body (it was read?): %v", err)
		}
		resp.Body.Close()
		return resp
	}
	if err := svc.guard.enter(); err != nil { // the only slot, as a slow publish would hold it
		t.Fatal(err)
	}
	if resp := send(); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("no slot free: %d", resp.StatusCode)
	}
	svc.guard.release()
	batch := one("l1") + "\n" + one("l2") + "\n" + one("l3")
	if resp, body := post(t, svc, batch, h); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("spending the burst: %d %s", resp.StatusCode, body)
	}
	if resp := send(); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("key over its rate: %d", resp.StatusCode)
	}
}

// A private message posted at the edge is published as PRIVATE; the
// brand's private reply still needs the brand's own account.
func TestEdgePublishesPrivateMessagesAsPrivate(t *testing.T) {
	svc, d := startIngest(t, func(c *Config) { c.BrandAccounts = "acme=x:acme-care" })
	batch := `{"platform":"x","platform_id":"p1","brand":"acme","author":{"id":"u42"},"text":"my address is 14 Elm Street","visibility":"private"}
{"platform":"x","platform_id":"p2","brand":"acme","author":{"id":"acme-care"},"text":"thanks, booked","visibility":"private","brand_reply":true,"reply_to_author_id":"u42"}`
	if resp, body := post(t, svc, batch, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("private messages: %d %s", resp.StatusCode, body)
	}
	s, err := d.JS.Stream(context.Background(), d.Names.Stream(bus.NounMentions))
	if err != nil {
		t.Fatal(err)
	}
	for seq, want := range map[uint64]bool{1: false, 2: true} {
		raw, err := s.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		var m fbv1.Mention
		if err := proto.Unmarshal(raw.Data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE || m.BrandReply != want {
			t.Fatalf("message %d: %v", seq, &m)
		}
	}
}

// Body bytes are reserved before any is read, over all requests: past the
// budget a request is refused unread, and a body announced too large is
// refused without reading it.
func TestEdgeBoundsTheBodyBytesReadAtOnce(t *testing.T) {
	svc, _ := startIngest(t, func(c *Config) { c.MaxBodyBytes = 4096; c.MaxBodyBytesInFlight = 8192 })
	url := "http://" + svc.HTTPAddr() + "/v1/mentions"
	hold := func(n int64) {
		r, w := io.Pipe()
		t.Cleanup(func() { w.Close() })
		req, _ := http.NewRequest(http.MethodPost, url, r)
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.ContentLength = n
		go func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	// Two slow clients announce 4 KiB each and send nothing: the budget
	// is spent while their bodies trickle in.
	hold(4096)
	hold(4096)
	testkit.Eventually(t, "the slow bodies admitted (8 KiB reserved)", func() bool { return svc.bodies.inUse() >= 8192 })
	req, _ := http.NewRequest(http.MethodPost, url, stalledBody(t))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.ContentLength = 100
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("a request past the budget was read, not refused: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("past the budget: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, url, stalledBody(t))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.ContentLength = 1 << 20
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatalf("an announced oversized body was read, not refused: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("announced oversized body: %d", resp.StatusCode)
	}
}

func TestKeyForOneBrandCannotSubmitForAnother(t *testing.T) {
	svc, d := startIngest(t)
	reply := `{"platform":"x","platform_id":"r1","brand":"acme","author":{"id":"acme"},"text":"we are on it","brand_reply":true,"reply_to_author_id":"u1"}`
	for name, body := range map[string]string{"mention": one("g1"), "brand reply": reply, "batch with one": strings.Replace(one("g2"), "acme", "globex", 1) + "\n" + one("g3")} {
		resp, got := post(t, svc, body, http.Header{"Authorization": {"Bearer " + globexKey}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(got, `may not submit mentions for brand \"acme\"`) {
			t.Errorf("%s: got %d %s", name, resp.StatusCode, got)
		}
	}
	conn, err := rpc.Dial(svc.GRPCAddr(), globexKey)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m := &fbv1.Mention{Platform: fbv1.Platform_PLATFORM_MASTODON, PlatformId: "g4", Brand: "acme", Author: &fbv1.Author{Id: "a"}, Text: "hi"}
	_, err = fbv1.NewIngestServiceClient(conn).Submit(context.Background(), &fbv1.SubmitRequest{Mentions: []*fbv1.Mention{m}})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("gRPC: %v, want PermissionDenied", err)
	}
	if got := published(t, d); got != 0 {
		t.Fatalf("%d published, want 0", got)
	}
}
