package ledger

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/surge"
)

// TestSurgesOpenOneIncidentOnRedisCluster runs two replicas' worth of
// complaints against a real Redis Cluster: every script's keys are in one
// slot (the brand's, or the incident's), the counts lose nothing, and the
// incident opens once and is stored once.
func TestSurgesOpenOneIncidentOnRedisCluster(t *testing.T) {
	client, keys := onCluster(t)
	ctx := context.Background()
	surges, s := NewSurges(client, keys), New(client, keys, time.Hour, time.Hour)
	cfg := surge.Config{Window: 15 * time.Minute, MinAuthors: 10, Deviations: 4, Persist: 2 * time.Minute,
		Quiet: 30 * time.Minute, Cooldown: 30 * time.Minute, Alpha: surge.Alpha}
	start := time.Unix(1_800_000_000, 0)

	var mu sync.Mutex
	var opened []surge.Change
	var wg sync.WaitGroup
	for replica := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := replica; i < 120; i += 2 {
				at := start.Add(time.Duration(i) * 5 * time.Second)
				scopes := surge.ScopesOf([]string{"broadband"}, "")
				for {
					o, err := surges.Observe(ctx, "acme", fmt.Sprintf("acme/x/%d", i), at, scopes, cfg)
					if err != nil {
						t.Error(err)
						return
					}
					next, changes := surge.Step(o.State, o.Obs, cfg)
					if !o.Changed(next) {
						break
					}
					if err := surges.Store(ctx, "acme", o, next); err == nil {
						mu.Lock()
						opened = append(opened, changes...)
						mu.Unlock()
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(opened) != 1 || !opened[0].Opened || opened[0].Incident.Scope != surge.Topic("broadband") {
		t.Fatalf("changes %+v, want one incident opened by one replica", opened)
	}
	o, err := surges.Observe(ctx, "acme", "", start.Add(10*time.Minute), []surge.Scope{surge.Brand}, cfg)
	if err != nil || o.Obs.Counts[surge.Brand] != 120 {
		t.Fatalf("brand count %d (%v), want all 120 authors in the window", o.Obs.Counts[surge.Brand], err)
	}

	id := cases.ID(IncidentTag("acme", "outage"), opened[0].Incident.Seq)
	c := &fbv1.Case{Id: id, Brand: "acme", Kind: fbv1.CaseKind_CASE_KIND_INCIDENT, Team: "senior", State: fbv1.CaseState_CASE_STATE_OPEN,
		UpdatedAt: timestamppb.New(start), Incident: &fbv1.Incident{Scope: surge.Topic("broadband")}}
	e := &fbv1.CaseEvent{Id: id + ":opened", Type: fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, Case: c}
	var created [2]bool
	for i := range created {
		if created[i], err = s.CreateIncident(ctx, c, e, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if !created[0] || created[1] {
		t.Fatalf("created %v, want the first call alone to store it", created)
	}
	for i := range 5 {
		m := &fbv1.Mention{Id: fmt.Sprintf("x:%d", i), CreatedAt: timestamppb.New(start.Add(time.Duration(i) * time.Second))}
		for range 2 { // a redelivery counts nothing twice
			if err := s.JoinIncident(ctx, id, fmt.Sprintf("acme/x/a%d", i%3), 100, fmt.Sprintf("t%d-1", i), m); err != nil {
				t.Fatal(err)
			}
		}
	}
	l, err := s.Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FillIncident(ctx, l.Case); err != nil {
		t.Fatal(err)
	}
	in := l.Case.Incident
	if in.MembersTotal != 5 || in.Authors != 3 || in.Reach != 300 || in.FirstMentionId != "x:0" || in.LatestMentionId != "x:4" {
		t.Fatalf("incident %v: want 5 members, 3 authors of 100 followers each, first x:0, latest x:4", in)
	}
	list, _, err := s.List(ctx, Filter{Team: "senior"}, "", 10)
	if err != nil || len(list) != 1 || list[0].Id != id {
		t.Fatalf("List by team: %v, %v; want the incident", list, err)
	}
}

// A brand's state is decoded again only when what is stored changed, and a
// state that did not change is not stored again.
func TestASurgeStateIsDecodedOncePerVersionStored(t *testing.T) {
	d := &decodedStates{byBrand: map[string]decodedState{}}
	first, err := d.decode("acme", `{"scopes":{"brand":{"baseline":{"mean":2,"var":1,"windows":3}}}}`)
	if err != nil || first.Scopes["brand"].Baseline.Mean != 2 {
		t.Fatalf("decode: %+v, %v", first, err)
	}
	again, _ := d.decode("acme", `{"scopes":{"brand":{"baseline":{"mean":2,"var":1,"windows":3}}}}`)
	if again.Scopes["brand"] != first.Scopes["brand"] {
		t.Fatal("the same stored state must come from the cache")
	}
	changed, _ := d.decode("acme", `{"scopes":{"brand":{"baseline":{"mean":5,"var":1,"windows":4}}}}`)
	if changed.Scopes["brand"].Baseline.Mean != 5 {
		t.Fatalf("a changed state must be decoded again: %+v", changed.Scopes["brand"])
	}
	if _, err := d.decode("acme", `{"scopes":`); err == nil {
		t.Fatal("a broken state must be an error")
	}
	for i := range maxDecodedBrands + 1 {
		_, _ = d.decode(fmt.Sprint("brand", i), `{}`)
	}
	if len(d.byBrand) > maxDecodedBrands {
		t.Fatalf("%d brands kept, want at most %d", len(d.byBrand), maxDecodedBrands)
	}

	o := Observed{State: changed}
	if o.Changed(changed) {
		t.Fatal("the state as read is no change")
	}
	if !o.Changed(first) {
		t.Fatal("a state other than the one read is a change")
	}
	if (Observed{}).Changed(surge.State{}) {
		t.Fatal("no state stored and none made is no change")
	}
}
