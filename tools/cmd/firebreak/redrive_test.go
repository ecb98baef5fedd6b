package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// TestRedriveAfterRedisLostEverything: two complaints open two cases and
// page them. Redis then loses everything the services wrote. `firebreak
// redrive` over the window decides each mention again, once, into its
// case, and pages nobody again; a second run finds everything done.
func TestRedriveAfterRedisLostEverything(t *testing.T) {
	var mu sync.Mutex
	pages := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pages[r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
	}))
	defer hook.Close()
	paged := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range pages {
			out[k] = v
		}
		return out
	}
	st, srv, forget := startFirebreakOnRedis(t, map[string][]string{
		"reach":    {"--brand-followers=acme=203000"},
		"notifier": {"--webhook-url=" + hook.URL},
	})
	since := time.Now().Add(-time.Second).UTC()
	for i, author := range []string{"dan", "eve"} {
		body := fmt.Sprintf(`{"platform":"x","platform_id":"redrive-%d","brand":"acme","author":{"id":"%s","handle":"%s","followers":332000},"text":"@acme my flight was cancelled and nobody answers. Awful."}`, i, author, author)
		req, _ := http.NewRequest(http.MethodPost, "http://"+st.Ingest.HTTPAddr()+"/v1/mentions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+st.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("post: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	if !testkit.Within(testkit.Deadline, func() bool { return len(paged()) == 2 }) {
		t.Fatalf("pages %v, want both cases paged", paged())
	}
	// A page reaches the receiver before the notifier records it; its
	// notifications.delivered event comes after the record, so both events
	// on the stream mean both marks were written before Redis loses them.
	js, err := jetstream.New(bustest.Conn(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	if !testkit.Within(testkit.Deadline, func() bool {
		stream, err := js.Stream(context.Background(), bus.Names{Prefix: bustest.Prefix}.Stream(bus.NounNotifications))
		return err == nil && stream.CachedInfo().State.Msgs >= 2
	}) {
		t.Fatal("the two pages' notifications.delivered events never came")
	}
	t.Setenv("FIREBREAK_TOKEN", st.Token)
	cli := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		args = append(args, "--escalation="+st.Escalation.GRPCAddr())
		if args[0] == "redrive" {
			args = append(args, "--notifier="+st.Notifier.GRPCAddr())
		}
		code := run(context.Background(), args, &out, &errOut)
		return out.String() + errOut.String(), code
	}
	if !testkit.Within(testkit.Deadline, func() bool {
		out, _ := cli("explain", "x:redrive-1")
		return strings.Contains(out, "escalated")
	}) {
		t.Fatal("the second mention was not decided")
	}

	forget() // power lost: Redis forgot everything

	if out, code := cli("explain", "x:redrive-0"); code == 0 {
		t.Fatalf("a decision survived the loss: %s", out)
	}
	out, code := cli("redrive", "--since", since.Format(time.RFC3339))
	t.Logf("firebreak redrive:\n%s", out)
	if code != 0 || !strings.Contains(out, "escalation: 2 mentions decided again") || !strings.Contains(out, "notifier: 2 delivery marks restored") {
		t.Fatalf("redrive (exit %d): %s", code, out)
	}
	for _, id := range []string{"x:redrive-0", "x:redrive-1"} {
		if out, code := cli("explain", id); code != 0 || !strings.Contains(out, "escalated") {
			t.Fatalf("explain %s after the redrive (exit %d): %s", id, code, out)
		}
	}
	out, code = cli("redrive", "--since", since.Format(time.RFC3339))
	if code != 0 || !strings.Contains(out, "escalation: 2 mentions already decided") || strings.Contains(out, "decided again") {
		t.Fatalf("a second redrive (exit %d): %s", code, out)
	}
	for key, n := range paged() {
		if n != 1 {
			t.Errorf("page %s sent %d times, want once", key, n)
		}
	}
	if got := paged(); len(got) != 2 {
		t.Errorf("pages %v, want the two cases' first pages only", got)
	}
	if out, code := cli("redrive"); code != 2 || !strings.Contains(out, "--since is required") {
		t.Fatalf("redrive without --since (exit %d): %s", code, out)
	}
}
