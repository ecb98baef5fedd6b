package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/auth/authtest"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/tools/stack"
)

// guarded is a running Firebreak whose APIs accept keys of single roles and
// ID tokens from an identity provider in the test's process, with a count
// of everything it has published and stored.
type guarded struct {
	stack   *stack.Stack
	keys    map[auth.Role]*authtest.Key
	other   *authtest.Key // ingest for another brand
	issuer  *authtest.Issuer
	redis   redis.UniversalClient
	prefix  string
	nc      *nats.Conn
	publish int // messages seen on the bus
}

const oidcAudience = "firebreak-e2e"

func startGuarded(t *testing.T) *guarded {
	t.Helper()
	g := &guarded{keys: map[auth.Role]*authtest.Key{}, issuer: authtest.NewIssuer(t)}
	var all []*authtest.Key
	for _, r := range auth.Roles {
		k := &authtest.Key{Name: "only-" + string(r), Roles: []auth.Role{r}, Brands: []string{"acme"}}
		g.keys[r], all = k, append(all, k)
	}
	g.other = &authtest.Key{Name: "globex-bot", Roles: []auth.Role{auth.Ingest}, Brands: []string{"globex"}}
	keysFile := authtest.KeysFile(t, append(all, g.other)...)
	srv := bustest.Server(t)
	client, keys := storetest.New(t)
	g.redis, g.prefix = client, keys.Prefix
	st, err := stack.Start(context.Background(), stack.Options{
		AcceptRedisLoss: true, // the machine's Redis need not persist
		Common: []string{"--nats-url=" + srv.ClientURL(), "--redis-url=" + storetest.URL(), "--redis-key-prefix=" + keys.Prefix,
			"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0",
			"--oidc-issuer=" + g.issuer.URL, "--oidc-audience=" + oidcAudience, "--oidc-roles-claim=groups"},
		Flags: map[string][]string{"reach": {"--brand-followers=acme=203000"},
			"console": {"--token-file=" + tokenFile(t, g.keys[auth.Responder].Key)}},
		Telemetry:       func(name string) (*telemetry.Telemetry, error) { return telemetrytest.New(t, name), nil },
		KeysFile:        keysFile,
		NATSPasswordDir: bustest.PasswordDir(t, srv),
	})
	if err != nil {
		t.Fatalf("start Firebreak: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := st.Stop(ctx); err != nil {
			t.Errorf("drain: %v", err)
		}
	})
	g.stack = st
	g.nc = bustest.Conn(t, srv)
	return g
}

// tokenFile writes token to a file for a service that reads its own.
func tokenFile(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// state is what a refused call must not change: the messages on the bus
// and the keys in Redis.
func (g *guarded) state(t *testing.T) string {
	t.Helper()
	keys, err := g.redis.Keys(context.Background(), g.prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var msgs uint64
	js, err := g.nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	for info := range js.StreamsInfo() {
		msgs += info.State.Msgs
	}
	return fmt.Sprintf("%d redis keys, %d messages", len(keys), msgs)
}

func (g *guarded) addr(method string) string {
	switch {
	case strings.Contains(method, ".IngestService/"):
		return g.stack.Ingest.GRPCAddr()
	case strings.Contains(method, ".ScorerService/"):
		return g.stack.Scorer.GRPCAddr()
	case strings.Contains(method, ".ReachService/"):
		return g.stack.Reach.GRPCAddr()
	case strings.Contains(method, ".EscalationService/"):
		return g.stack.Escalation.GRPCAddr()
	}
	return g.stack.Notifier.GRPCAddr()
}

// call makes one call of method with an empty request and returns its error.
func call(t *testing.T, addr, token string, m protoreflect.MethodDescriptor) error {
	t.Helper()
	conn, err := rpc.Dial(addr, token)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	in, err := protoregistry.GlobalTypes.FindMessageByName(m.Input().FullName())
	if err != nil {
		t.Fatal(err)
	}
	out, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
	if err != nil {
		t.Fatal(err)
	}
	full := "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
	ctx, cancel := context.WithTimeout(context.Background(), quickly)
	defer cancel()
	if !m.IsStreamingServer() {
		return conn.Invoke(ctx, full, in.New().Interface(), out.New().Interface())
	}
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, full)
	if err != nil {
		return err
	}
	if err := stream.SendMsg(in.New().Interface()); err != nil {
		return err
	}
	_ = stream.CloseSend()
	return stream.RecvMsg(out.New().Interface())
}

func methods() []protoreflect.MethodDescriptor {
	var out []protoreflect.MethodDescriptor
	services := fbv1.File_firebreak_v1_services_proto.Services()
	for i := range services.Len() {
		for j := range services.Get(i).Methods().Len() {
			out = append(out, services.Get(i).Methods().Get(j))
		}
	}
	return out
}

// TestEveryRPCRefusesTheUnauthenticatedAndTheWrongRoleAndChangesNothing
// calls every method of every service without a token, with a forged key,
// with expired, wrong-audience and forged ID tokens, and with a key of each
// role the method does not take. Each gets Unauthenticated or
// PermissionDenied naming the role, quickly, and neither the bus nor Redis
// changes.
func TestEveryRPCRefusesTheUnauthenticatedAndTheWrongRoleAndChangesNothing(t *testing.T) {
	g := startGuarded(t)
	before := g.state(t)
	now := time.Now()
	badTokens := map[string]string{
		"no token":            "",
		"forged key":          "fbk_000000000000000000000000000000000000000000000000",
		"expired ID token":    g.issuer.Token(t, oidcAudience, authtest.Claims{"sub": "ana", "groups": []string{"admin"}, "exp": now.Add(-10 * time.Minute).Unix()}),
		"ID token for an app": g.issuer.Token(t, "another-app", authtest.Claims{"sub": "ana", "groups": []string{"admin"}}),
		"forged ID token":     g.issuer.Stranger(t).Token(t, oidcAudience, authtest.Claims{"sub": "ana", "groups": []string{"admin"}}),
	}
	for _, m := range methods() {
		full := "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
		rule := auth.Methods[full]
		t.Run(string(m.Parent().Name())+"/"+string(m.Name()), func(t *testing.T) {
			for name, token := range badTokens {
				start := time.Now()
				err := call(t, g.addr(full), token, m)
				if status.Code(err) != codes.Unauthenticated || time.Since(start) > quickly {
					t.Errorf("%s: %v after %s, want Unauthenticated quickly", name, err, time.Since(start))
				}
			}
			for role, key := range g.keys {
				if (auth.Identity{Roles: []auth.Role{role}}).HasAny(rule.Roles...) {
					continue
				}
				err := call(t, g.addr(full), key.Key, m)
				if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "needs role") {
					t.Errorf("key of role %s: %v, want PermissionDenied naming the role", role, err)
				}
			}
		})
	}
	if after := g.state(t); after != before {
		t.Fatalf("refused calls changed something: before %s, after %s", before, after)
	}
}

// A valid ID token with a mapped role is let through, and what it does is
// recorded under its name: the check above refuses for the right reasons.
func TestIDTokenWithTheRoleIsAcceptedAndTheBrandIsChecked(t *testing.T) {
	g := startGuarded(t)
	token := g.issuer.Token(t, oidcAudience, authtest.Claims{"sub": "u-7", "preferred_username": "vic", "groups": []string{"viewer"}})
	conn, err := rpc.Dial(g.stack.Escalation.GRPCAddr(), token)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fbv1.NewEscalationServiceClient(conn).ListCases(context.Background(), &fbv1.ListCasesRequest{}); err != nil {
		t.Fatalf("a viewer's ID token: %v", err)
	}
	before := g.state(t)
	ingest, err := rpc.Dial(g.stack.Ingest.GRPCAddr(), g.other.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer ingest.Close()
	m := &fbv1.Mention{Platform: fbv1.Platform_PLATFORM_MASTODON, PlatformId: "b1", Brand: "acme", Author: &fbv1.Author{Id: "u1"}, Text: "@acme refund"}
	_, err = fbv1.NewIngestServiceClient(ingest).Submit(context.Background(), &fbv1.SubmitRequest{Mentions: []*fbv1.Mention{m}})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), `brand "acme"`) {
		t.Fatalf("a key for globex submitting for acme: %v", err)
	}
	if after := g.state(t); after != before {
		t.Fatalf("a refused submit changed something: before %s, after %s", before, after)
	}
}

// A policy built to run for minutes is cut off at its cost limit: the
// caller gets an answer quickly, the route does not match, and nothing
// changes.
func TestCELBombInEvaluatePolicyAnswersQuicklyAndChangesNothing(t *testing.T) {
	g := startGuarded(t)
	digits := "[0,1,2,3,4,5,6,7,8,9]"
	expr := "a+b+c+d+e+f+g+h >= 0"
	for _, v := range []string{"h", "g", "f", "e", "d", "c", "b", "a"} {
		expr = digits + ".all(" + v + ", " + expr + ")"
	}
	doc := "routes:\n  - name: bomb\n    match: '" + expr + "'\n    team: standard\n    priority: HIGH\n    reason: a bomb\n" +
		"chains:\n  standard:\n    levels:\n      - receivers: [queue]\n        ack_timeout: 30m\n"
	conn, err := rpc.Dial(g.stack.Escalation.GRPCAddr(), g.keys[auth.Admin].Key)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before := g.state(t)
	ctx, cancel := context.WithTimeout(context.Background(), quickly)
	defer cancel()
	resp, err := fbv1.NewEscalationServiceClient(conn).EvaluatePolicy(ctx, &fbv1.EvaluatePolicyRequest{
		Policy: doc, Mention: &fbv1.Mention{Id: "x:bomb", Brand: "acme", Text: "hi"}, Score: &fbv1.Score{Complaint: 1}})
	if err != nil {
		t.Fatalf("a CEL bomb: %v (want an answer within %s)", err, quickly)
	}
	if resp.Decision.Escalate || !strings.Contains(fmt.Sprint(resp.Decision.Reasons), "cost limit") {
		t.Fatalf("decision %v: want the route cut off at the cost limit", resp.Decision)
	}
	_, err = fbv1.NewEscalationServiceClient(conn).EvaluatePolicy(context.Background(), &fbv1.EvaluatePolicyRequest{
		Policy: strings.Repeat("#", 300<<10), Mention: &fbv1.Mention{Id: "x:big"}})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a 300 KiB policy: %v, want InvalidArgument", err)
	}
	if after := g.state(t); after != before {
		t.Fatalf("EvaluatePolicy changed something: before %s, after %s", before, after)
	}
}
