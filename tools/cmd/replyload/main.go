// Command replyload measures POST /v1/replies/check: it sends 280-character
// drafts one after another and reports latency percentiles. Without
// --addr it serves the scorer's own handler on loopback in this process,
// with GOMAXPROCS=1 by default, so the figure is the check's cost on one
// core, client included; with --addr it measures a running scorer.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/firebreak/firebreak/services/scorer"
	"github.com/firebreak/firebreak/services/scorer/score"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "replyload:", err)
		os.Exit(1)
	}
}

// drafts are 280-character replies of every kind the check reads: good,
// hostile, powerless, with personal data, moving to DMs.
var drafts = []string{
	"We're so sorry your bag didn't make the connection. It's on the next flight and our courier will bring it to your hotel tonight; we'll message you here with the tracking link as soon as it lands. If you need essentials meanwhile, keep the receipts and we'll refund them.          ",
	"Honestly, that's a bit much. Plenty of customers waited longer than you did last night and none of them felt the need to tweet at us every ten minutes about it. Calm down, take a deep breath and wait for the driver like everybody else. You should have booked it earlier then.     ",
	"We're really sorry to hear about your experience at our store today. That isn't the level of service we want any of our customers to receive and we do apologise for the frustration it has caused you and your family. Thank you for taking the time to share your feedback with us.   ",
	"Hi Sarah, we've rebooked booking QX7P2L onto the 06:40 tomorrow and emailed the new itinerary to sarah.jones@example.com. The engineer will also call you on 07700 900461 about the refund for order 114-5839201-7730642. Sorry again for the disruption and thanks for your patience!  ",
	"Sorry about the trouble with the app since the update. Could you send us a DM with the version you're on and the device model? We'll check it with the team and get back to you. In the meantime, logging out and back in usually clears the cache and fixes the loop for most people.  ",
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("replyload", flag.ContinueOnError)
	addr := fs.String("addr", "", "a running scorer's HTTP address (host:port); empty serves the check in this process")
	requests := fs.Int("requests", 20_000, "requests to send, one at a time")
	warmup := fs.Int("warmup", 1_000, "requests sent first and not measured")
	procs := fs.Int("procs", 1, "GOMAXPROCS of this process (the in-process server and the client share it)")
	token := fs.String("token", os.Getenv("FIREBREAK_TOKEN"), "with --addr, a token allowed to check replies (env FIREBREAK_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *requests < 100 {
		return fmt.Errorf("--requests must be at least 100 for a p99")
	}
	runtime.GOMAXPROCS(*procs)
	target := *addr
	if target == "" {
		var stop func()
		var err error
		if target, stop, err = serve(); err != nil {
			return err
		}
		defer stop()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
	url := "http://" + target + "/v1/replies/check"
	bodies := make([][]byte, len(drafts))
	for i, d := range drafts {
		if n := len([]rune(d)); n != 280 {
			return fmt.Errorf("draft %d has %d characters, want 280", i, n)
		}
		bodies[i], _ = json.Marshal(map[string]any{"draft": d, "public": true})
	}
	lat := make([]time.Duration, 0, *requests)
	for i := 0; i < *warmup+*requests; i++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		start := time.Now()
		if err := post(client, url, *token, bodies[i%len(bodies)]); err != nil {
			return err
		}
		if i >= *warmup {
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	where := "in-process, GOMAXPROCS=" + fmt.Sprint(*procs)
	if *addr != "" {
		where = *addr
	}
	fmt.Fprintf(out, "POST /v1/replies/check, 280-character drafts, %d requests one at a time (%s)\n", len(lat), where)
	fmt.Fprintf(out, "  p50 %v  p90 %v  p99 %v  max %v\n", pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1])
	return nil
}

func post(client *http.Client, url, token string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	return nil
}

// serve runs the scorer's reply-check handler on a loopback port.
func serve() (string, func(), error) {
	m, err := score.DefaultModel()
	if err != nil {
		return "", nil, err
	}
	sc, err := score.New(score.Options{Model: m})
	if err != nil {
		return "", nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(scorer.ReplyCheckPath, scorer.NewReplyCheckHandler(sc))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	return lis.Addr().String(), func() { _ = srv.Close() }, nil
}
