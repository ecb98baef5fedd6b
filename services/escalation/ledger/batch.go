package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// JoinAll joins many parts in one round trip: what Join does for each, in
// order, so two parts of one mention in the same batch join as if one came
// after the other. A part whose join failed (errs[i]) did nothing that a
// Join of it again would not do: joins are idempotent.
func (s *Store) JoinAll(ctx context.Context, reqs []JoinRequest, window time.Duration) (out []Joined, errs []error) {
	calls := make([]call[Joined], len(reqs))
	var w watch
	for i, r := range reqs {
		calls[i] = s.joinCall(ctx, r, window, &w)
	}
	out = make([]Joined, len(reqs))
	errs = runAll(ctx, s.r, calls, func(i int, j Joined) { out[i] = j })
	for i, err := range errs {
		if err != nil {
			errs[i] = fmt.Errorf("join %s of mention %s: %w", reqs[i].Part.Name, reqs[i].MentionID, err)
		}
	}
	return out, errs
}

// CommitAll commits many decisions in one round trip: what Commit does
// for each. A decision whose commit failed (errs[i], ErrConflict when its
// author's case changed, which a decision before it in the batch may have
// done) is to be made again from a new Join; one whose script did not run
// (the server lost its script cache) fails too, and commits the same way.
func (s *Store) CommitAll(ctx context.Context, reqs []CommitRequest) (already []bool, errs []error) {
	calls := make([]call[bool], len(reqs))
	already, errs = make([]bool, len(reqs)), make([]error, len(reqs))
	var ok []int
	for i, r := range reqs {
		c, err := s.commitCall(ctx, r, ReplyEffect{})
		if err != nil {
			errs[i] = err
			continue
		}
		calls[i] = c
		ok = append(ok, i)
	}
	run := make([]call[bool], len(ok))
	for k, i := range ok {
		run[k] = calls[i]
	}
	for k, err := range runAll(ctx, s.r, run, func(k int, a bool) { already[ok[k]] = a }) {
		errs[ok[k]] = err
	}
	return already, errs
}

// runAll sends every call, and the commands riding with each, in one
// pipeline, and reads each call's answer (set(i, answer)). A call fails on
// its own: its script's error, or one of its own commands' that is not
// tolerated. A call whose script the server did not have (NOSCRIPT, after
// a restart or a failover) did nothing: the script is loaded and that call
// alone sent again, once, as runPipelined does.
func runAll[T any](ctx context.Context, r redis.UniversalClient, calls []call[T], set func(int, T)) []error {
	errs := runOnce(ctx, r, calls, set)
	var again []int
	loaded := map[*redis.Script]error{}
	for i, err := range errs {
		if err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
			continue
		}
		script := calls[i].script
		if _, done := loaded[script]; !done {
			loaded[script] = script.Load(ctx, r).Err()
		}
		if err := loaded[script]; err != nil {
			errs[i] = fmt.Errorf("load script: %w", err)
			continue
		}
		again = append(again, i)
	}
	if len(again) == 0 {
		return errs
	}
	retry := make([]call[T], len(again))
	for k, i := range again {
		retry[k] = calls[i]
	}
	for k, err := range runOnce(ctx, r, retry, func(k int, v T) { set(again[k], v) }) {
		errs[again[k]] = err
	}
	return errs
}

// runOnce is one pass of runAll.
func runOnce[T any](ctx context.Context, r redis.UniversalClient, calls []call[T], set func(int, T)) []error {
	errs := make([]error, len(calls))
	if len(calls) == 0 {
		return errs
	}
	pipe := r.Pipeline()
	scripts := make([]*redis.Cmd, len(calls))
	extras := make([][2]int, len(calls))
	tolerated := make([][]redis.Cmder, len(calls))
	for i, c := range calls {
		scripts[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
		from := pipe.Len()
		tolerated[i] = c.extra(pipe)
		extras[i] = [2]int{from, pipe.Len()}
	}
	total := pipe.Len()
	cmds, err := pipe.Exec(ctx)
	if len(cmds) != total {
		for i := range errs {
			errs[i] = fmt.Errorf("pipeline of %d commands answered %d: %w", total, len(cmds), err)
		}
		return errs
	}
	for i, c := range calls {
		if err := scripts[i].Err(); err != nil {
			errs[i] = err
			continue
		}
		v, err := c.read(scripts[i])
		if err == nil {
			err = resend(ctx, r, failed(cmds[extras[i][0]:extras[i][1]], tolerated[i]))
		}
		if err != nil {
			errs[i] = err
			continue
		}
		set(i, v)
	}
	return errs
}

// failed are the commands of cmds that failed and are not tolerated.
func failed(cmds, tolerated []redis.Cmder) []redis.Cmder {
	var out []redis.Cmder
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) && !slices.Contains(tolerated, cmd) {
			out = append(out, cmd)
		}
	}
	return out
}

// resendFor bounds resend.
const resendFor = time.Minute

// resend sends cmds again, copies of them, until they all succeed, for up
// to resendFor. They rode with a script that ran: idempotent writes to
// other slots (the mention's pointer, the case's indexes, its chain timer)
// that a redelivery would not make, since it finds the mention decided and
// only publishes its events again. A Cluster re-forming after a restart or
// a failover answers CLUSTERDOWN on some slots and not others for a few
// seconds (make chaos: mentions decided, paged, and unknown to
// ExplainDecision, their pointer never written).
func resend(ctx context.Context, r redis.UniversalClient, cmds []redis.Cmder) error {
	if len(cmds) == 0 {
		// The usual case, every join and commit: no deadline (a context
		// and a timer) to make for nothing.
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resendFor)
	defer cancel()
	for delay := 100 * time.Millisecond; len(cmds) > 0; delay = min(2*delay, 2*time.Second) {
		first := cmds[0].Err()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d commands that rode with a script that ran still fail (%w), first %v: %w", len(cmds), first, cmds[0].Args(), ctx.Err())
		case <-time.After(delay):
		}
		pipe := r.Pipeline()
		again := make([]redis.Cmder, len(cmds))
		for i, c := range cmds {
			again[i] = redis.NewCmd(ctx, c.Args()...)
			_ = pipe.Process(ctx, again[i])
		}
		_, _ = pipe.Exec(ctx)
		cmds = failed(again, nil)
	}
	return nil
}
