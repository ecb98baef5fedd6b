package scorer

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/rpc"
)

// startScorer runs a scorer on the test's own NATS and Redis prefix, and
// returns it, the test's own connections (which publish what ingest would
// and read what the scorer published) and a token its API accepts.
func startScorer(t *testing.T) (*Service, *deps.Deps, string) {
	t.Helper()
	env := depstest.New(t)
	d := env.Deps(t, "scorer")
	svc, err := New(t.Context(), Config{Common: env.Common, MaxInFlight: 4, LexiconOnly: true}, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	return svc, env.Deps(t, "test"), env.Token
}

func TestBrandRepliesCarryTheReplyCheckOnTheirScore(t *testing.T) {
	_, d, _ := startScorer(t)
	ctx := context.Background()
	mentions := []*fbv1.Mention{
		{Id: "x:complaint", Brand: "acme", Text: "@acme third time asking: where is my refund?", Author: &fbv1.Author{Id: "dan"}},
		{Id: "x:harsh", Brand: "acme", BrandReply: true, ReplyToAuthorId: "dan", Visibility: fbv1.Visibility_VISIBILITY_PUBLIC,
			Text: "@dan That's a bit harsh. Calm down and wait like everyone else.", Author: &fbv1.Author{Id: "acme"}},
		{Id: "x:dm", Brand: "acme", BrandReply: true, ReplyToAuthorId: "dan",
			Text: "@dan Sorry about this. Please send us a DM with your order number and we'll chase it.", Author: &fbv1.Author{Id: "acme"}},
		{Id: "x:private", Brand: "acme", BrandReply: true, ReplyToAuthorId: "dan", Visibility: fbv1.Visibility_VISIBILITY_PRIVATE,
			Text: "Your refund for booking QX7P2L is on its way, we'll email dan@example.com today.", Author: &fbv1.Author{Id: "acme"}},
	}
	for _, m := range mentions {
		m.CreatedAt = timestamppb.Now()
		if _, err := d.Publisher.Publish(ctx, bus.Event{Subject: d.Names.Ingested("x"), MsgID: m.Id + ":ingested", Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := d.JS.OrderedConsumer(ctx, d.Names.Stream(bus.NounMentions), jetstream.OrderedConsumerConfig{FilterSubjects: []string{d.Names.Scored()}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*fbv1.Score{}
	for len(got) < len(mentions) {
		msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("scored %d of %d mentions: %v", len(got), len(mentions), err)
		}
		var sm fbv1.ScoredMention
		if err := proto.Unmarshal(msg.Data(), &sm); err != nil {
			t.Fatal(err)
		}
		got[sm.Mention.Id] = sm.Score
	}
	if r := got["x:complaint"].Reply; r != nil {
		t.Errorf("a customer's mention got a reply check: %v", r)
	}
	if r := got["x:harsh"].Reply; r == nil || !r.Hostile || !r.Dismissive || !r.Public || len(r.Findings) == 0 {
		t.Errorf("the harsh public reply: %v, want hostile, dismissive, public, with findings", r)
	}
	if r := got["x:dm"].Reply; r == nil || !r.MovesPrivate || r.Hostile || r.NoNextStep || !r.Public {
		t.Errorf("the DM hand-off: %v, want moves_private alone, public (no visibility given)", r)
	}
	if r := got["x:private"].Reply; r == nil || r.Public || r.ExposesPrivate {
		t.Errorf("the private reply: %v, want not public and nothing exposed (personal data belongs in private messages)", r)
	}
	if got["x:harsh"].ModelVersion == "" || got["x:harsh"].MentionId != "x:harsh" {
		t.Errorf("a brand reply lost its ordinary score: %v", got["x:harsh"])
	}
}

func TestReplyCheckOverHTTP(t *testing.T) {
	svc, _, token := startScorer(t)
	url := "http://" + svc.HTTPAddr() + "/v1/replies/check"
	send := func(t *testing.T, body, token string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("answer %q is not JSON: %v", data, err)
		}
		return resp.StatusCode, out
	}
	post := func(t *testing.T, body string) (int, map[string]any) { return send(t, body, token) }
	t.Run("a caller without a token is refused", func(t *testing.T) {
		code, out := send(t, `{"draft":"hi"}`, "")
		if msg, _ := out["error"].(string); code != http.StatusUnauthorized || !strings.Contains(msg, "Authorization: Bearer") {
			t.Fatalf("%d %v: want 401 saying how to authenticate", code, out)
		}
	})
	t.Run("a good reply is ok", func(t *testing.T) {
		code, out := post(t, `{"draft":"Sorry your parcel is late. We've chased the courier and will update you here by 5pm.","mention":{"text":"@acme where is my parcel?"}}`)
		if code != http.StatusOK || out["ok"] != true || out["public"] != true {
			t.Fatalf("%d %v: want 200, ok, public by default", code, out)
		}
	})
	t.Run("a hostile reply is not ok and names its findings", func(t *testing.T) {
		code, out := post(t, `{"draft":"That's a bit harsh. Calm down and wait like everyone else.","public":true}`)
		findings, _ := out["findings"].([]any)
		if code != http.StatusOK || out["ok"] != false || out["hostile"] != true || len(findings) == 0 {
			t.Fatalf("%d %v: want 200, not ok, hostile, findings", code, out)
		}
		f, _ := findings[0].(map[string]any)
		for _, k := range []string{"kind", "severity", "reason", "start", "end"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding %v has no %q", f, k)
			}
		}
	})
	t.Run("personal data is a problem only in public", func(t *testing.T) {
		draft := `"draft":"We've refunded booking QX7P2L and emailed dan@example.com."`
		_, public := post(t, `{`+draft+`,"public":true}`)
		_, private := post(t, `{`+draft+`,"public":false}`)
		if public["exposes_private"] != true || public["ok"] != false || private["exposes_private"] != false || private["ok"] != true {
			t.Fatalf("public %v, private %v: want exposed and not ok only in public", public, private)
		}
	})
	bad := []struct {
		name, body string
		code       int
		says       string
	}{
		{"a draft over 10,000 characters", `{"draft":"` + strings.Repeat("é", MaxDraftChars+1) + `"}`, http.StatusBadRequest, "at most 10000"},
		{"an empty draft", `{"draft":""}`, http.StatusBadRequest, "draft is empty"},
		{"a body that is not JSON", `draft=hello`, http.StatusBadRequest, "not a JSON object"},
		{"an unknown visibility", `{"draft":"hi","mention":{"visibility":"friends"}}`, http.StatusBadRequest, "public"},
		{"a body too large to read", `{"draft":"` + strings.Repeat("a", maxReplyBody) + `"}`, http.StatusRequestEntityTooLarge, "larger than"},
	}
	for _, tc := range bad {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			code, out := post(t, tc.body)
			msg, _ := out["error"].(string)
			if code != tc.code || !strings.Contains(msg, tc.says) {
				t.Fatalf("%d %q: want %d saying %q", code, msg, tc.code, tc.says)
			}
		})
	}
}

func TestCheckReplyOverGRPCRefusesLongDrafts(t *testing.T) {
	svc, _, token := startScorer(t)
	conn, err := rpc.Dial(svc.GRPCAddr(), token)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := fbv1.NewScorerServiceClient(conn)
	_, err = client.CheckReply(context.Background(), &fbv1.CheckReplyRequest{Draft: string(bytes.Repeat([]byte("a"), MaxDraftChars+1))})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "at most 10000") {
		t.Fatalf("long draft: %v, want InvalidArgument naming the limit", err)
	}
	resp, err := client.CheckReply(context.Background(), &fbv1.CheckReplyRequest{Draft: strings.Repeat("a", MaxDraftChars), Public: true})
	if err != nil || resp.Check == nil {
		t.Fatalf("a draft of exactly the limit: %v %v, want checked", resp, err)
	}
}
