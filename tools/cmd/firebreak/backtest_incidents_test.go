package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

var updateTestdata = flag.Bool("update-testdata", false, "rewrite testdata/outage.ndjson from its generator")

// outageData is a synthetic day of one brand: ordinary complaints about
// billing, a handful an hour, then a broadband outage where 150 people
// complain within 40 minutes (one of them three times), then ordinary
// complaints again. It is deterministic: testdata/outage.ndjson is its
// output.
func outageData() []byte {
	var b bytes.Buffer
	day := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
	line := func(id, author string, followers int, text string, at time.Time) {
		fmt.Fprintf(&b, `{"id":"x:%s","platform":"PLATFORM_X","brand":"acme","author":{"id":%q,"handle":%q,"followers":"%d"},"text":%q,"createdAt":%q}`+"\n",
			id, author, author, followers, text, at.Format(time.RFC3339))
	}
	ordinary := []string{
		"@acme you charged me twice this month, awful",
		"@acme my bill is wrong again, nobody answers",
		"@acme still waiting for my refund, terrible service",
	}
	outage := []string{
		"@acme broadband down again, no internet since this morning",
		"@acme internet is down, nothing works. Awful service",
		"@acme still no internet, the network has been down for hours",
		"@acme my broadband keeps dropping, useless",
	}
	// Ordinary hours: one complaint every 17 minutes, from 40 customers.
	n := 0
	ordinaryUntil := func(from, until time.Time) {
		for at := from; at.Before(until); at = at.Add(17 * time.Minute) {
			line(fmt.Sprintf("b%d", n), fmt.Sprintf("bill-%d", n%40), 300+n%7*100, ordinary[n%len(ordinary)], at)
			n++
		}
	}
	start := day.Add(12 * time.Hour)
	ordinaryUntil(day, start)
	for i := range 150 {
		line(fmt.Sprintf("o%d", i), fmt.Sprintf("north-%d", i), 200+i*13%900, outage[i%len(outage)], start.Add(time.Duration(i)*16*time.Second))
	}
	for i := range 3 {
		line(fmt.Sprintf("r%d", i), "loyal", 450, outage[i], start.Add(20*time.Minute+time.Duration(i)*5*time.Minute))
	}
	ordinaryUntil(start.Add(41*time.Minute), day.Add(16*time.Hour))
	return b.Bytes()
}

func TestOutageTestdataIsItsGeneratorsOutput(t *testing.T) {
	want := outageData()
	if *updateTestdata {
		if err := os.WriteFile("testdata/outage.ndjson", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("testdata/outage.ndjson")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("testdata/outage.ndjson is not outageData's output (%v); run go test -run TestOutageTestdata -update-testdata", err)
	}
}

func TestBacktestShowsTheSyntheticOutageAsOneIncident(t *testing.T) {
	t.Parallel()
	r := runJSON(t, "--policy", "default", "--in", "testdata/outage.ndjson", "--brand-followers", "acme=203000")
	if len(r.Policy.Incidents) != 1 || r.Policy.Summary.Incidents != 1 {
		t.Fatalf("incidents %+v, want the outage's one", r.Policy.Incidents)
	}
	inc := r.Policy.Incidents[0]
	outageStart := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
	if inc.OpenedAt.Before(outageStart) || inc.OpenedAt.After(outageStart.Add(10*time.Minute)) || inc.ResolvedAt == nil ||
		inc.ResolvedAt.Before(outageStart.Add(40*time.Minute)) || inc.Team != "senior" {
		t.Fatalf("incident %+v: want it opened early in the outage, paging senior, and resolved after it", inc)
	}
	if !strings.Contains(inc.Reason, "people complained") || !strings.Contains(inc.Reason, "in 15 minutes; usually") {
		t.Fatalf("reason %q", inc.Reason)
	}
	if inc.Quiet < 100 || inc.Authors < 100 || r.Policy.Summary.JoinedQuietly != inc.Quiet {
		t.Fatalf("incident %+v: want most of the outage's 150 complaints to join it quietly", inc)
	}
	var loyal []string
	for _, d := range r.Policy.Decisions {
		if d.Author == "loyal" {
			loyal = append(loyal, d.Route)
		}
	}
	if len(loyal) != 3 || loyal[2] != "repeat" {
		t.Fatalf("the customer who complained three times went by %v; the third must page by the repeat route", loyal)
	}
	// The standard route holds its first page 2m: the outage's early
	// complaints, decided before the incident opened, join it when their
	// hold ends. Only the very first, whose hold ended before the others
	// were a surge, pages on its own.
	paged := 0
	for _, c := range r.Policy.Cases {
		if !strings.HasPrefix(c.Author, "north-") {
			continue
		}
		if len(c.Pages) > 0 && c.OpenedAt.After(inc.OpenedAt) {
			t.Fatalf("case %s of %s opened after the incident and paged %v", c.ID, c.Author, c.Pages)
		}
		if len(c.Pages) > 0 {
			paged++
			if c.Hold != holdPaged || c.Pages[0].Cause != "hold_ended" {
				t.Fatalf("case %s of %s paged %v, hold %q: want its page to be its hold's end", c.ID, c.Author, c.Pages, c.Hold)
			}
		} else if c.OpenedAt.Before(inc.OpenedAt) && (c.Hold != holdJoined || c.Incident != inc.ID) {
			t.Fatalf("case %s of %s opened before the incident: hold %q incident %q; want it to join it", c.ID, c.Author, c.Hold, c.Incident)
		}
	}
	if paged > 1 || r.Policy.Summary.HeldJoined < 10 {
		t.Fatalf("%d outage cases paged on their own, %d held cases joined the incident: want at most the first to page, and the rest to join", paged, r.Policy.Summary.HeldJoined)
	}
}
