package ingest

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// batcher runs the Redis work of concurrent requests (their duplicate
// checks, their seen-marks) as one pipeline: a group commit. A caller
// queues its commands and, if no pipeline is in flight, runs one at once
// with whatever is queued; otherwise it waits, and the caller that runs
// the next pipeline takes everything queued in the meantime. A lone
// request is never held back, and under load one round trip serves many
// requests, which saves Redis and ingest a system call and a reply parse
// for each one it spares.
//
// There is no goroutine of its own: the pipeline is run by one of the
// waiting callers, the one holding the runner token, so nothing outlives
// the requests that use it.
type batcher struct {
	redis redis.UniversalClient
	// queue holds the jobs not yet in a pipeline; its capacity bounds them
	// (callers beyond it wait for room, or for their context).
	queue chan *batchJob
	// runner holds a token while some caller runs pipelines.
	runner chan struct{}
	// maxJobs bounds the jobs in one pipeline, so that one round trip
	// stays small enough to answer in good time.
	maxJobs int
}

// batchJob is one caller's commands and where its outcome goes.
type batchJob struct {
	ctx   context.Context
	queue func(redis.Pipeliner)
	// done is buffered, so the runner never waits on a caller that left.
	done chan error
}

func newBatcher(r redis.UniversalClient, queueLen, maxJobs int) *batcher {
	return &batcher{redis: r, queue: make(chan *batchJob, max(queueLen, 1)), runner: make(chan struct{}, 1), maxJobs: max(maxJobs, 1)}
}

// do has queue add the caller's commands to a pipeline shared with
// concurrent callers and returns once that pipeline ran, with the first
// error among the caller's own commands (as Pipeline.Exec would for a
// pipeline of its own), so each caller reads its own answers and sees its
// own failure. queue may not wait: it runs while other callers wait.
//
// A caller whose context ends returns at once; its commands are left out
// of any pipeline not yet sent (if one already was, they run, as a
// pipeline of its own would have when cancelled mid-flight).
func (b *batcher) do(ctx context.Context, queue func(redis.Pipeliner)) error {
	job := &batchJob{ctx: ctx, queue: queue, done: make(chan error, 1)}
	if err := b.enqueue(job); err != nil {
		return err
	}
	for {
		select {
		case err := <-job.done:
			return err
		case b.runner <- struct{}{}:
			if err, answered := b.runUntil(job); answered {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("wait for a Redis pipeline: %w", ctx.Err())
		}
	}
}

// enqueue queues job, waiting for room. A queue full of jobs whose
// callers all left has no caller to run it, so a caller waiting for room
// runs a pipeline of it itself when no one else is.
func (b *batcher) enqueue(job *batchJob) error {
	for {
		select {
		case b.queue <- job:
			return nil
		default:
		}
		select {
		case b.queue <- job:
			return nil
		case b.runner <- struct{}{}:
			b.runOnce()
		case <-job.ctx.Done():
			return fmt.Errorf("wait for room in the Redis batch queue: %w", job.ctx.Err())
		}
	}
}

// runOnce runs one pipeline of what is queued; the caller holds the
// runner token, which runOnce gives back.
func (b *batcher) runOnce() {
	defer func() { <-b.runner }()
	if jobs := b.take(); len(jobs) > 0 {
		b.exec(jobs)
	}
}

// runUntil runs pipelines of the queued jobs until own is answered, and
// returns its outcome; the caller holds the runner token, which runUntil
// gives back. Own is answered or still queued, since only the token's
// holder takes jobs; answered is false only if neither holds, which do
// then waits out like any other caller.
func (b *batcher) runUntil(own *batchJob) (err error, answered bool) {
	defer func() { <-b.runner }()
	for {
		select {
		case err := <-own.done:
			return err, true
		default:
		}
		jobs := b.take()
		if len(jobs) == 0 {
			return nil, false
		}
		b.exec(jobs)
	}
}

// take removes up to maxJobs jobs from the queue, without waiting.
func (b *batcher) take() []*batchJob {
	var jobs []*batchJob
	for len(jobs) < b.maxJobs {
		select {
		case j := <-b.queue:
			jobs = append(jobs, j)
		default:
			return jobs
		}
	}
	return jobs
}

// exec runs jobs as one pipeline and answers each. Its context is none of
// the callers': one caller leaving must not fail the others' round trip,
// which the Redis client's read and write timeouts bound.
func (b *batcher) exec(jobs []*batchJob) {
	defer func() {
		if p := recover(); p != nil {
			// A job's commands panicked: the others in the batch get
			// an error rather than wait for ever, and the panic goes
			// on to the runner's caller (net/http logs it).
			for _, j := range jobs {
				select {
				case j.done <- fmt.Errorf("redis pipeline not run: building it panicked: %v", p):
				default: // already answered
				}
			}
			panic(p)
		}
	}()
	pipe := b.redis.Pipeline()
	// spans[i] is where job i's commands are among the pipeline's; -1
	// for a job whose caller left before it was sent.
	spans := make([][2]int, len(jobs))
	for i, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.done <- fmt.Errorf("wait for a Redis pipeline: %w", err)
			spans[i] = [2]int{-1, -1}
			continue
		}
		start := pipe.Len()
		j.queue(pipe)
		spans[i] = [2]int{start, pipe.Len()}
	}
	if pipe.Len() == 0 {
		for i, j := range jobs {
			if spans[i][0] >= 0 {
				j.done <- nil
			}
		}
		return
	}
	cmds, err := pipe.Exec(context.Background())
	if err != nil && !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return c.Err() == err }) {
		// The pipeline failed without its commands saying so: none of
		// them is known to have run.
		err = fmt.Errorf("redis pipeline of %d commands: %w", len(cmds), err)
	} else {
		err = nil // a command's own error is its caller's alone
	}
	for i, j := range jobs {
		if spans[i][0] < 0 {
			continue
		}
		j.done <- jobErr(cmds, spans[i], err)
	}
}

// jobErr is a job's outcome: the pipeline's failure if it failed as a
// whole, else the first error among the job's own commands (cmds[span]).
func jobErr(cmds []redis.Cmder, span [2]int, pipeErr error) error {
	if pipeErr != nil {
		return pipeErr
	}
	if span[1] > len(cmds) {
		return fmt.Errorf("redis pipeline returned %d replies for %d commands", len(cmds), span[1])
	}
	for _, c := range cmds[span[0]:span[1]] {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}
