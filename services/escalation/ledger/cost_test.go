package ledger_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/cases"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/surge"
	"github.com/firebreak/firebreak/services/platform/store"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// BenchmarkRedisCost measures what the ledger's scripts cost Redis, on a
// redis-server of the benchmark's own so no other client's commands are
// counted: per op, the commands Redis ran (redis-cmds/op, every command a
// script called included, as INFO commandstats counts them), the time
// Redis spent in the scripts (redis-script-µs/op, the commands they called
// included), and the CPU of the whole
// server process (redis-cpu-µs/op, what the load run's capacity model
// reports). These are the hot path's figures: a script that does more for
// the same answer shows here.
//
// decide is one complaint decided as the service does it: its score's
// join, its reach's join (which counts it in the author's history), and
// the commit of the decision with a case event; 500 authors repeat, so
// their cases are opened and then updated. observe is one complaint
// counted towards its brand's surges in three scopes (brand, a topic, its
// post).
func BenchmarkRedisCost(b *testing.B) {
	addr := storetest.StartServer(b)
	client := redis.NewClient(&redis.Options{Addr: addr})
	b.Cleanup(func() { _ = client.Close() })
	keys := store.Keys{Prefix: "fbbench"}
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	var decided, observed int

	b.Run("script=decide", func(b *testing.B) {
		s := ledger.New(client, keys, time.Hour, time.Hour)
		measureRedis(b, client, &decided, func(i int) { decideComplaint(b, s, i, at.Add(time.Duration(i)*time.Second)) })
	})
	b.Run("script=observe", func(b *testing.B) {
		sg := ledger.NewSurges(client, keys)
		cfg := surge.Config{Window: 10 * time.Minute, Persist: 5 * time.Minute}
		measureRedis(b, client, &observed, func(i int) {
			scopes := []surge.Scope{surge.Brand, surge.Topic(fmt.Sprintf("topic-%d", i%5)), surge.Post(fmt.Sprintf("x:post-%d", i%50))}
			if _, err := sg.Observe(context.Background(), "acme", fmt.Sprintf("author-%d", i%500), at.Add(time.Duration(i)*time.Second), scopes, cfg); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// measureRedis runs op b.N times and reports Redis's cost per op. The
// benchmark runs it more than once (with growing b.N): i goes on from
// where the run before stopped, so every op is a new mention.
func measureRedis(b *testing.B, client *redis.Client, next *int, op func(i int)) {
	ctx := context.Background()
	if err := client.ConfigResetStat(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	before := redisCPU(b, client)
	b.ResetTimer()
	for range b.N {
		op(*next)
		*next++
	}
	b.StopTimer()
	cpu := redisCPU(b, client) - before
	if testing.Verbose() {
		info, _ := client.Info(context.Background(), "commandstats").Result()
		b.Log(info)
	}
	calls, scriptUsec := commandStats(b, client)
	b.ReportMetric(float64(calls)/float64(b.N), "redis-cmds/op")
	b.ReportMetric(float64(scriptUsec)/float64(b.N), "redis-script-µs/op")
	b.ReportMetric(cpu*1e6/float64(b.N), "redis-cpu-µs/op")
}

// redisCPU is the server's CPU time so far, in seconds.
func redisCPU(b *testing.B, client *redis.Client) float64 {
	info, err := client.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	return infoFloat(info, "used_cpu_user") + infoFloat(info, "used_cpu_sys")
}

func infoFloat(info, field string) float64 {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// commandStats sums INFO commandstats since the reset: every command's
// calls (a script's and those it called), and the scripts' time, which
// includes the commands they called.
func commandStats(b *testing.B, client *redis.Client) (calls, scriptUsec int64) {
	info, err := client.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		name, fields, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":")
		if !ok || name == line || name == "info" || name == "config|resetstat" {
			continue
		}
		for _, f := range strings.Split(fields, ",") {
			k, v, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch {
			case k == "calls":
				calls += n
			case k == "usec" && (name == "evalsha" || name == "eval"):
				scriptUsec += n
			}
		}
	}
	return calls, scriptUsec
}

// decideComplaint decides complaint i by author i%500 at at, opening the
// author's case or adding to it.
func decideComplaint(b testing.TB, s *ledger.Store, i int, at time.Time) {
	ctx := context.Background()
	author := fmt.Sprintf("acme/x/author-%d", i%500)
	a := s.Author(author)
	id := fmt.Sprintf("x:bench-%d", i)
	m := &fbv1.Mention{Id: id, Brand: "acme", Author: &fbv1.Author{Id: author}, CreatedAt: timestamppb.New(at)}
	score, _ := proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 1}})
	reach, _ := proto.Marshal(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Followers: 1}})
	if _, err := s.Join(ctx, a, id, ledger.Part{Name: "score", Data: score, Complaint: true, At: at}, time.Hour); err != nil {
		b.Fatal(err)
	}
	j, err := s.Join(ctx, a, id, ledger.Part{Name: "reach", Data: reach, At: at}, time.Hour)
	if err != nil || !j.Ready {
		b.Fatalf("join of %s: ready %v, %v", id, j.Ready, err)
	}
	c := &fbv1.Case{Id: cases.ID(a.Tag, max(j.Current.N, 1)), Brand: "acme", State: fbv1.CaseState_CASE_STATE_OPEN,
		Priority: fbv1.Priority_PRIORITY_HIGH, UpdatedAt: timestamppb.New(at)}
	if _, err := s.Commit(ctx, a, j, &fbv1.Decision{MentionId: id}, c, []*fbv1.CaseEvent{{Id: id + ":event"}}, time.Time{}); err != nil {
		b.Fatal(err)
	}
}
