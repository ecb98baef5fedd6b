package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/ingest/x"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/services/platform/testkit"
	"github.com/firebreak/firebreak/tools/stack"
)

const (
	hostileKey = "hostile-test-key-0123456789abcdef"
	consoleKey = "console-test-key-0123456789abcdef"
	xSecret    = "x-consumer-secret-for-the-hostile-test"
	xBrandID   = "2244994945"
	// quickly bounds how long a refusal may take: a hostile request must
	// not tie the edge up.
	quickly = 2 * time.Second
)

// edge is a running Firebreak whose ingest demands an API key and takes
// signed X webhooks, with a way to count what ingest has published.
type edge struct {
	base   string
	stream jetstream.Stream
}

func startEdge(t *testing.T) *edge {
	t.Helper()
	dir := t.TempDir()
	keys, secret := filepath.Join(dir, "keys"), filepath.Join(dir, "x-secret")
	if err := os.WriteFile(keys, []byte("hostile:"+hostileKey+" roles=ingest brands=acme\n"+
		"console:"+consoleKey+" roles=responder\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	consoleToken := filepath.Join(dir, "console-token")
	if err := os.WriteFile(consoleToken, []byte(consoleKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte(xSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := bustest.Server(t)
	_, prefix := storetest.New(t)
	st, err := stack.Start(context.Background(), stack.Options{
		AcceptRedisLoss: true, // the machine's Redis need not persist
		Common: []string{"--nats-url=" + srv.ClientURL(), "--redis-url=" + storetest.URL(), "--redis-key-prefix=" + prefix.Prefix,
			"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0"},
		Flags: map[string][]string{
			"console": {"--token-file=" + consoleToken},
			"ingest":  {"--x-consumer-secret-file=" + secret, "--x-brands=acme=" + xBrandID},
			"reach":   {"--brand-followers=acme=203000"},
		},
		Telemetry:       func(name string) (*telemetry.Telemetry, error) { return telemetrytest.New(t, name), nil },
		KeysFile:        keys,
		NATSPasswordDir: bustest.PasswordDir(t, srv),
	})
	if err != nil {
		t.Fatalf("start Firebreak: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := st.Stop(ctx); err != nil {
			t.Errorf("drain: %v", err)
		}
	})
	js, err := jetstream.New(bustest.Conn(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(context.Background(), bus.Names{Prefix: "firebreak"}.Stream(bus.NounMentions))
	if err != nil {
		t.Fatal(err)
	}
	return &edge{base: "http://" + st.Ingest.HTTPAddr(), stream: stream}
}

// ingested counts the mentions ingest has published.
func (e *edge) ingested(t *testing.T) uint64 {
	t.Helper()
	info, err := e.stream.Info(context.Background(), jetstream.WithSubjectFilter("firebreak.mentions.ingested.>"))
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, count := range info.State.Subjects {
		n += count
	}
	return n
}

// send makes one request and returns its status and how long it took.
func (e *edge) send(t *testing.T, method, path string, header http.Header, body io.Reader) (int, string, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), time.Since(start)
}

func keyed() http.Header {
	return http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + hostileKey}}
}

func valid(id string) string {
	return fmt.Sprintf(`{"platform":"x","platform_id":%q,"brand":"acme","author":{"id":"u-%s","handle":"h","followers":10},"text":"@acme my bag is lost"}`, id, id)
}

// TestHostileClientsGetA4xxQuicklyAndNothingIsPublished throws what a
// hostile or broken client would at ingest's HTTP edge. Each request must be
// refused with the right 4xx within two seconds, and ingest must publish
// only what the two legitimate requests carried.
func TestHostileClientsGetA4xxQuicklyAndNothingIsPublished(t *testing.T) {
	e := startEdge(t)
	before := e.ingested(t)

	t.Run("refused", func(t *testing.T) {
		for _, c := range hostileRequests() {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				code, body, took := e.send(t, c.method, c.path, c.header, c.body())
				if code != c.want {
					t.Errorf("status %d (%s), want %d", code, strings.TrimSpace(body), c.want)
				}
				if took > quickly {
					t.Errorf("refusal took %s, want under %s", took, quickly)
				}
			})
		}
		t.Run("SlowLorisIsCutOffAndOthersAreServed", func(t *testing.T) {
			t.Parallel()
			slowLoris(t, e)
		})
		t.Run("BodySignedThroughTheCRCIsRefused", func(t *testing.T) {
			t.Parallel()
			crcForgery(t, e)
		})
		t.Run("ReplayedXDeliveryIsPublishedOnce", func(t *testing.T) {
			t.Parallel()
			body := xDelivery("1329750100000000777")
			for i := range 2 {
				code, resp, _ := e.send(t, http.MethodPost, "/v1/webhooks/x", signed(xSecret, body), strings.NewReader(body))
				if code != http.StatusOK {
					t.Fatalf("signed delivery %d: %d %s", i+1, code, resp)
				}
			}
		})
	})

	// The slow-loris test's control request and the X delivery (sent twice)
	// are the only mentions that may have been published.
	testkit.Eventually(t, "the two legitimate mentions to be published", func() bool { return e.ingested(t)-before >= 2 })
	if got := e.ingested(t) - before; got != 2 {
		t.Fatalf("ingest published %d mentions, want 2 (the legitimate ones, once each)", got)
	}
}

type hostile struct {
	name, method, path string
	header             http.Header
	body               func() io.Reader
	want               int
}

func hostileRequests() []hostile {
	text := func(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }
	mention := func(fields string) func() io.Reader {
		return text(`{"platform":"x","platform_id":"h1","brand":"acme","author":{"id":"u1"},"text":"@acme refund please"` + fields + `}`)
	}
	bearer := func(key string) http.Header {
		return http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + key}}
	}
	xBody := xDelivery("1329750100000000999")
	forgedX := func(sig string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		if sig != "" {
			h.Set(x.SignatureHeader, sig)
		}
		return h
	}
	post := http.MethodPost
	return []hostile{
		{"NoAPIKey", post, "/v1/mentions", http.Header{"Content-Type": {"application/json"}}, text(valid("k1")), http.StatusUnauthorized},
		{"ForgedAPIKey", post, "/v1/mentions", bearer("forged-key-0123456789abcdef"), text(valid("k2")), http.StatusUnauthorized},
		{"ForgedXSignature", post, "/v1/webhooks/x", forgedX(x.ResponseToken([]byte("not-the-secret"), xBody)), text(xBody), http.StatusUnauthorized},
		{"MissingXSignature", post, "/v1/webhooks/x", forgedX(""), text(xBody), http.StatusUnauthorized},
		{"XSignatureOfAnotherBody", post, "/v1/webhooks/x", signed(xSecret, xDelivery("1")), text(xBody), http.StatusUnauthorized},
		{"OversizedBody", post, "/v1/mentions", keyed(), func() io.Reader { return io.LimitReader(endless{}, 5<<20) }, http.StatusRequestEntityTooLarge},
		{"DeeplyNestedObject", post, "/v1/mentions", keyed(), mention(`,"metrics":` + strings.Repeat(`{"likes":`, 100_000)), http.StatusBadRequest},
		{"DeeplyNestedArray", post, "/v1/mentions", keyed(), text(strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000)), http.StatusBadRequest},
		{"InvalidUTF8", post, "/v1/mentions", keyed(), text("{\"platform\":\"x\",\"platform_id\":\"u8\",\"brand\":\"acme\",\"author\":{\"id\":\"u1\"},\"text\":\"bad \xff\xfe bytes\"}"), http.StatusBadRequest},
		{"HugeExponent", post, "/v1/mentions", keyed(), mention(`,"metrics":{"likes":1e400}`), http.StatusBadRequest},
		{"IntegerOverflow", post, "/v1/mentions", keyed(), text(`{"platform":"x","platform_id":"ov","brand":"acme","author":{"id":"u1","followers":123456789012345678901234567890},"text":"hi"}`), http.StatusBadRequest},
		{"ImplausibleFollowers", post, "/v1/mentions", keyed(), text(`{"platform":"x","platform_id":"f","brand":"acme","author":{"id":"u1","followers":99000000000},"text":"hi"}`), http.StatusBadRequest},
		{"NegativeMetrics", post, "/v1/mentions", keyed(), mention(`,"metrics":{"likes":-1}`), http.StatusBadRequest},
		{"UnknownField", post, "/v1/mentions", keyed(), mention(`,"is_admin":true`), http.StatusBadRequest},
		{"UnknownNestedField", post, "/v1/mentions", keyed(), text(`{"platform":"x","platform_id":"n","brand":"acme","author":{"id":"u1","role":"root"},"text":"hi"}`), http.StatusBadRequest},
		{"HalfValidBatchIsRefusedWhole", post, "/v1/mentions", keyed(), text(valid("half-1") + "\n" + `{"platform":"x"}` + "\n"), http.StatusBadRequest},
		{"TooManyMentions", post, "/v1/mentions", keyed(), func() io.Reader {
			var b strings.Builder
			for i := range 1001 {
				b.WriteString(valid(fmt.Sprintf("many-%d", i)) + "\n")
			}
			return strings.NewReader(b.String())
		}, http.StatusBadRequest},
		{"EmptyBody", post, "/v1/mentions", keyed(), text(""), http.StatusBadRequest},
		{"NotJSON", post, "/v1/mentions", keyed(), text("<xml>hello</xml>"), http.StatusBadRequest},
		{"WhitespaceInID", post, "/v1/mentions", keyed(), text(`{"platform":"x","platform_id":"a b","brand":"acme","author":{"id":"u1"},"text":"hi"}`), http.StatusBadRequest},
		{"FarFutureTimestamp", post, "/v1/mentions", keyed(), mention(`,"created_at":"2999-01-01T00:00:00Z"`), http.StatusBadRequest},
		{"BrandReplyFromACustomersAccount", post, "/v1/mentions", keyed(), mention(`,"brand_reply":true,"reply_to_author_id":"u7"`), http.StatusBadRequest},
		{"CRCOfAJSONBody", http.MethodGet, "/v1/webhooks/x?crc_token=" + url.QueryEscape(xBody), nil, text(""), http.StatusBadRequest},
		{"CRCTokenTooLong", http.MethodGet, "/v1/webhooks/x?crc_token=" + strings.Repeat("A", 4096), nil, text(""), http.StatusBadRequest},
		{"BrandReplyWithoutAddressee", post, "/v1/mentions", keyed(), mention(`,"brand_reply":true`), http.StatusBadRequest},
		{"TextTooLong", post, "/v1/mentions", keyed(), text(`{"platform":"x","platform_id":"long","brand":"acme","author":{"id":"u1"},"text":"` + strings.Repeat("a", 17<<10) + `"}`), http.StatusBadRequest},
		{"WrongMethod", http.MethodGet, "/v1/mentions", keyed(), text(""), http.StatusMethodNotAllowed},
	}
}

// crcForgery asks the CRC endpoint to sign a forged delivery, as an
// attacker would (X's CRC answer is the HMAC that signs deliveries), then
// posts the forgery with whatever came back: both must be refused.
func crcForgery(t *testing.T, e *edge) {
	forged := `{"for_user_id":"` + xBrandID + `","tweet_create_events":[{"id_str":"1329750100000000555","text":"@acme pay me","user":{"id_str":"66","screen_name":"mallory","followers_count":9000000}}]}`
	code, body, _ := e.send(t, http.MethodGet, "/v1/webhooks/x?crc_token="+url.QueryEscape(forged), http.Header{}, nil)
	if code != http.StatusBadRequest || strings.Contains(body, "response_token") {
		t.Fatalf("CRC of the forged body: %d %s; want 400 and no token", code, body)
	}
	var answer struct {
		ResponseToken string `json:"response_token"`
	}
	_ = json.Unmarshal([]byte(body), &answer)
	h := http.Header{"Content-Type": {"application/json"}, x.SignatureHeader: {answer.ResponseToken}}
	if code, body, _ := e.send(t, http.MethodPost, "/v1/webhooks/x", h, strings.NewReader(forged)); code != http.StatusUnauthorized {
		t.Fatalf("forged delivery with the CRC's answer: %d %s; want 401", code, body)
	}
}

// endless is an infinite body of valid-looking JSON whitespace.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// slowLoris holds connections that send their headers a byte at a time and
// checks that the server cuts them off while a legitimate client is served.
func slowLoris(t *testing.T, e *edge) {
	addr := strings.TrimPrefix(e.base, "http://")
	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "POST /v1/mentions HTTP/1.1\r\nHost: ingest\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	code, body, took := e.send(t, http.MethodPost, "/v1/mentions", keyed(), strings.NewReader(valid("loris-control")))
	if code != http.StatusAccepted || took > quickly {
		t.Fatalf("a legitimate client beside 20 slow ones: %d %s after %s", code, body, took)
	}
	// A byte every 100ms keeps each connection alive for any timeout that
	// resets on progress; the server must cut it off anyway.
	cutOff := make(chan time.Duration, len(conns))
	start := time.Now()
	for _, c := range conns {
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			r := bufio.NewReader(c)
			for time.Since(start) < 15*time.Second {
				if _, err := io.WriteString(c, "a"); err != nil {
					break
				}
				_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := r.ReadByte(); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						continue
					}
					break
				}
				break // the server answered (408 or similar): also cut off
			}
			cutOff <- time.Since(start)
		}()
	}
	for range conns {
		if d := <-cutOff; d > 10*time.Second {
			t.Fatalf("a slow-loris connection was still open after %s; want it cut off by the header timeout", d)
		}
	}
}

// xDelivery is an X Account Activity delivery of one customer's post.
func xDelivery(id string) string {
	return `{"for_user_id":"` + xBrandID + `","tweet_create_events":[{"created_at":"Mon Nov 23 08:00:00 +0000 2026","id_str":"` + id +
		`","text":"@acme lost my bag","in_reply_to_user_id_str":"` + xBrandID + `","user":{"id_str":"42","screen_name":"dan","name":"Dan","followers_count":10,"friends_count":1},"lang":"en"}]}`
}

func signed(secret, body string) http.Header {
	return http.Header{"Content-Type": {"application/json"}, x.SignatureHeader: {x.ResponseToken([]byte(secret), body)}}
}

// TestHostileFloodOfLargeBodiesIsRefusedBeforeReading sends 40 requests at
// once, each announcing a 4 MiB body that never comes, as slow clients
// would. Ingest reserves body bytes before reading (32 MiB at once by
// default), so 8 are admitted and wait for their bodies while the other 32
// are refused with 503 straight away: 128 MiB that a pod with a 256 MiB
// limit never reads. Nothing is published.
func TestHostileFloodOfLargeBodiesIsRefusedBeforeReading(t *testing.T) {
	e := startEdge(t)
	before := e.ingested(t)
	const (
		flood    = 40
		admitted = (32 << 20) / (4 << 20) // --max-body-bytes-in-flight / --max-body-bytes
	)
	type answer struct {
		code int
		took time.Duration
	}
	answers := make(chan answer, flood)
	var writers []*io.PipeWriter
	for range flood {
		r, w := io.Pipe()
		writers = append(writers, w)
		req, err := http.NewRequest(http.MethodPost, e.base+"/v1/mentions", r)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = keyed()
		req.ContentLength = 4 << 20
		go func() {
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answers <- answer{code: -1, took: time.Since(start)}
				return
			}
			resp.Body.Close()
			answers <- answer{code: resp.StatusCode, took: time.Since(start)}
		}()
	}
	t.Cleanup(func() {
		for _, w := range writers {
			w.Close()
		}
	})
	for i := range flood - admitted {
		select {
		case a := <-answers:
			if a.code != http.StatusServiceUnavailable || a.took > quickly {
				t.Fatalf("refusal %d: status %d after %s, want 503 within %s", i+1, a.code, a.took, quickly)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d requests beyond the body budget were refused", i, flood-admitted)
		}
	}
	select {
	case a := <-answers:
		t.Fatalf("more than %d requests were refused, or one admitted was answered without its body: %d", flood-admitted, a.code)
	default:
	}
	// The admitted ones end when their clients give up.
	for _, w := range writers {
		w.CloseWithError(errors.New("client gave up"))
	}
	for range admitted {
		<-answers
	}
	if got := e.ingested(t) - before; got != 0 {
		t.Fatalf("%d mentions published", got)
	}
}
