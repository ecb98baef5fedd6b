package escalation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/escalation/ledger"
	"github.com/firebreak/firebreak/services/escalation/silence"
	"github.com/firebreak/firebreak/services/platform/auth"
)

// silenceCache holds the compiled silences of one version. Every join
// reads the version in its own round trip, so a replica never decides with
// silences older than the join it decides; it reads the silences again
// only when the version moved.
type silenceCache struct {
	mu      sync.Mutex
	loaded  bool
	version string
	set     []*silence.Silence
}

// silencesAt returns the silences as of version (read with the join); ""
// and a missing version both mean none were ever added.
func (s *Service) silencesAt(ctx context.Context, version string) ([]*silence.Silence, error) {
	c := &s.silenceCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded && c.version == version {
		return c.set, nil
	}
	all, ver, err := s.silences.All(ctx, s.clock.Now())
	if err != nil {
		return nil, err
	}
	set := make([]*silence.Silence, 0, len(all))
	for _, sil := range all {
		compiled, err := silence.Compile(sil)
		if err != nil {
			// Checked when added; a stored one that no longer compiles
			// mutes nothing rather than stopping every decision.
			s.d.Tel.Logger.Error("stored silence does not compile; it mutes nothing", "silence", sil.Id, "err", err)
			continue
		}
		set = append(set, compiled)
	}
	c.loaded, c.version, c.set = true, ver, set
	return set, nil
}

// currentSilences reads the version and returns the silences as of it.
func (s *Service) currentSilences(ctx context.Context) ([]*silence.Silence, error) {
	v, err := s.silences.Version(ctx)
	if err != nil {
		return nil, err
	}
	return s.silencesAt(ctx, v)
}

// mute marks a decision and its events silenced when a silence matches.
func (s *Service) mute(ctx context.Context, version string, d *fbv1.Decision, m *fbv1.Mention, to *fbv1.Author, events []*fbv1.CaseEvent) error {
	if !d.Escalate {
		return nil
	}
	set, err := s.silencesAt(ctx, version)
	if err != nil {
		return err
	}
	silence.Mute(set, d, m, to, events, s.clock.Now())
	return nil
}

// AddSilence stores a silence in the caller's name.
func (s *Service) AddSilence(ctx context.Context, req *fbv1.AddSilenceRequest) (*fbv1.AddSilenceResponse, error) {
	caller, ok := auth.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no authenticated caller; "+auth.HowToAuthenticate)
	}
	if req.Silence == nil {
		return nil, status.Error(codes.InvalidArgument, "silence is required")
	}
	now := s.clock.Now()
	sil := proto.Clone(req.Silence).(*fbv1.Silence)
	sil.Id, sil.CreatedBy, sil.CreatedAt = newSilenceID(), caller.Name, timestamppb.New(now)
	sil.ExpiredBy, sil.ExpiredAt = "", nil
	if sil.StartsAt == nil || sil.StartsAt.AsTime().Before(now) {
		sil.StartsAt = timestamppb.New(now)
	}
	if _, err := silence.Check(sil, req.Force); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.silences.Add(ctx, sil, now); err != nil {
		return nil, silenceStatus(err)
	}
	s.d.Tel.Logger.InfoContext(ctx, "silence added", "silence", sil.Id, "by", caller.Name, "ends", sil.EndsAt.AsTime())
	return &fbv1.AddSilenceResponse{Silence: sil}, nil
}

// maxAudit bounds the audit entries one ListSilences returns.
const maxAudit = 500

// ListSilences lists the silences kept and, when asked, the audit log.
func (s *Service) ListSilences(ctx context.Context, req *fbv1.ListSilencesRequest) (*fbv1.ListSilencesResponse, error) {
	if req.Audit < 0 || req.Audit > maxAudit {
		return nil, status.Errorf(codes.InvalidArgument, "audit is %d; ask for 0 to %d entries", req.Audit, maxAudit)
	}
	now := s.clock.Now()
	all, _, err := s.silences.All(ctx, now)
	if err != nil {
		return nil, silenceStatus(err)
	}
	resp := &fbv1.ListSilencesResponse{}
	for _, sil := range all {
		if req.Expired || now.Before(sil.EndsAt.AsTime()) {
			resp.Silences = append(resp.Silences, sil)
		}
	}
	if req.Audit > 0 {
		if resp.Audit, err = s.silences.Audit(ctx, int(req.Audit)); err != nil {
			return nil, silenceStatus(err)
		}
	}
	return resp, nil
}

// ExpireSilence ends a silence now, in the caller's name.
func (s *Service) ExpireSilence(ctx context.Context, req *fbv1.ExpireSilenceRequest) (*fbv1.ExpireSilenceResponse, error) {
	caller, ok := auth.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no authenticated caller; "+auth.HowToAuthenticate)
	}
	if req.Id == "" || len(req.Id) > 64 {
		return nil, status.Error(codes.InvalidArgument, "id is required, as listed by firebreak silences list")
	}
	sil, err := s.silences.Expire(ctx, req.Id, caller.Name, s.clock.Now())
	if err != nil {
		return nil, silenceStatus(err)
	}
	s.d.Tel.Logger.InfoContext(ctx, "silence expired", "silence", sil.Id, "by", caller.Name)
	return &fbv1.ExpireSilenceResponse{Silence: sil}, nil
}

func silenceStatus(err error) error {
	switch {
	case errors.Is(err, ledger.ErrNoSilence):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, ledger.ErrTooManySilences):
		return status.Error(codes.ResourceExhausted, err.Error())
	}
	return toStatus(err)
}

func newSilenceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// silenceKeep is how long an ended silence is still listed (and found by
// an expire call) before its key expires; its audit entries stay.
const silenceKeep = 24 * time.Hour
