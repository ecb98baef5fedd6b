package ingest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/rpc"
)

// startIngest runs an ingest connected as its own NATS user, and returns
// it and the test's own dependencies on the same NATS and Redis.
func startIngest(t *testing.T, options ...func(*Config)) (*Service, *deps.Deps) {
	t.Helper()
	env := depstest.New(t)
	env.Common.Auth.KeysFile = keysFile(t)
	d := env.Deps(t, "ingest")
	cfg := Config{Common: env.Common, MaxBodyBytes: 4096, MaxBatch: 3, SeenTTL: time.Hour}
	for _, o := range options {
		o(&cfg)
	}
	svc, err := New(t.Context(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	// The test reads what ingest published with its own connections:
	// ingest's NATS user may publish mentions, not read them back.
	return svc, env.Deps(t, "test")
}

func published(t *testing.T, d *deps.Deps) uint64 {
	t.Helper()
	s, err := d.JS.Stream(context.Background(), d.Names.Stream(bus.NounMentions))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(d.Names.IngestedAll()))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func postBody(t *testing.T, svc *Service, body string) (int, string) {
	t.Helper()
	resp, b := post(t, svc, body, http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + testKey}})
	return resp.StatusCode, b
}

const mentionJSON = `{"platform":"x","platform_id":"%s","brand":"acme","author":{"id":"u1"},"text":"where is my bag"}`

func one(id string) string { return strings.Replace(mentionJSON, "%s", id, 1) }

func TestHTTPEdge(t *testing.T) {
	svc, d := startIngest(t)
	tests := []struct {
		name       string
		body       string
		status     int
		want       string
		newInStore uint64
	}{
		{"valid mention is accepted once durable", one("1"), http.StatusAccepted, `"id":"x:1","duplicate":false`, 1},
		{"same mention again is a duplicate", one("1"), http.StatusAccepted, `"id":"x:1","duplicate":true`, 0},
		{"batch is all or nothing", one("2") + "\n" + `{"platform":"x"}`, http.StatusBadRequest, `"index":1`, 0},
		{"malformed JSON", `{"platform":`, http.StatusBadRequest, "malformed JSON", 0},
		{"oversized body", `{"text":"` + strings.Repeat("a", 5000) + `"}`, http.StatusRequestEntityTooLarge, "larger than", 0},
		{"too many mentions", one("3") + "\n" + one("4") + "\n" + one("5") + "\n" + one("6"), http.StatusBadRequest, "at most 3", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := published(t, d)
			status, body := postBody(t, svc, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %s; want %d containing %s", status, body, tc.status, tc.want)
			}
			if got := published(t, d) - before; got != tc.newInStore {
				t.Fatalf("%d mentions published, want %d", got, tc.newInStore)
			}
		})
	}
}

func TestGRPCSubmitValidatesAndDedups(t *testing.T) {
	svc, d := startIngest(t)
	conn, err := rpc.Dial(svc.GRPCAddr(), testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := fbv1.NewIngestServiceClient(conn)
	m := &fbv1.Mention{Platform: fbv1.Platform_PLATFORM_MASTODON, PlatformId: "109", Brand: "acme", Author: &fbv1.Author{Id: "a"}, Text: "hi"}
	resp, err := client.Submit(context.Background(), &fbv1.SubmitRequest{Mentions: []*fbv1.Mention{m}})
	if err != nil || resp.Results[0].Id != "mastodon:109" || resp.Results[0].Duplicate {
		t.Fatalf("first submit: %v %v", resp, err)
	}
	resp, err = client.Submit(context.Background(), &fbv1.SubmitRequest{Mentions: []*fbv1.Mention{m}})
	if err != nil || !resp.Results[0].Duplicate {
		t.Fatalf("second submit: %v %v", resp, err)
	}
	_, err = client.Submit(context.Background(), &fbv1.SubmitRequest{Mentions: []*fbv1.Mention{{Brand: "acme", Text: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "InvalidArgument") || !strings.Contains(err.Error(), "platform_id is missing") {
		t.Fatalf("invalid mention: err = %v", err)
	}
	if got := published(t, d); got != 1 {
		t.Fatalf("%d published, want 1", got)
	}
}
