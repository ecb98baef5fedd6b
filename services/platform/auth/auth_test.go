package auth_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/auth/authtest"
)

func TestEveryRPCInTheProtosHasARule(t *testing.T) {
	services := fbv1.File_firebreak_v1_services_proto.Services()
	for i := range services.Len() {
		svc := services.Get(i)
		for j := range svc.Methods().Len() {
			full := "/" + string(svc.FullName()) + "/" + string(svc.Methods().Get(j).Name())
			rule, ok := auth.Methods[full]
			if !ok {
				t.Errorf("%s has no rule in auth.Methods", full)
				continue
			}
			if rule.Open || len(rule.Roles) == 0 {
				t.Errorf("%s is open to %s; every Firebreak RPC must name its roles", full, map[bool]string{true: "everyone", false: "any caller"}[rule.Open])
			}
		}
	}
}

// cases answers GetCase with the caller's name and how they authenticated,
// and counts acknowledgements, so a test sees what reached the handler.
type cases struct {
	fbv1.UnimplementedEscalationServiceServer
	acks int
}

func (c *cases) GetCase(ctx context.Context, _ *fbv1.GetCaseRequest) (*fbv1.GetCaseResponse, error) {
	id, _ := auth.FromContext(ctx)
	return &fbv1.GetCaseResponse{Case: &fbv1.Case{Id: id.Name, Team: id.Method}}, nil
}

func (c *cases) AcknowledgeCase(context.Context, *fbv1.AcknowledgeCaseRequest) (*fbv1.AcknowledgeCaseResponse, error) {
	c.acks++
	return &fbv1.AcknowledgeCaseResponse{}, nil
}

func (c *cases) WatchCases(_ *fbv1.WatchCasesRequest, stream fbv1.EscalationService_WatchCasesServer) error {
	id, _ := auth.FromContext(stream.Context())
	return stream.Send(&fbv1.WatchCasesResponse{Event: &fbv1.CaseEvent{Actor: id.Name}})
}

func serve(t *testing.T, a *auth.Authenticator) (*grpc.ClientConn, *cases) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(a.UnaryInterceptor(auth.Methods)), grpc.ChainStreamInterceptor(a.StreamInterceptor(auth.Methods)))
	c := &cases{}
	fbv1.RegisterEscalationServiceServer(srv, c)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, c
}

func withToken(token string) grpc.CallOption { return grpc.PerRPCCredentials(auth.Token(token)) }

func TestCallsNeedAKeyWithTheMethodsRoleAndDeniedCallsChangeNothing(t *testing.T) {
	viewer := &authtest.Key{Name: "vic", Roles: []auth.Role{auth.Viewer}}
	responder := &authtest.Key{Name: "ana", Roles: []auth.Role{auth.Responder}}
	a, err := auth.New(auth.Options{KeysFile: authtest.KeysFile(t, viewer, responder)})
	if err != nil {
		t.Fatal(err)
	}
	conn, c := serve(t, a)
	client := fbv1.NewEscalationServiceClient(conn)
	ctx := context.Background()

	for name, tc := range map[string]struct {
		opts []grpc.CallOption
		code codes.Code
		says string
	}{
		"no token":       {nil, codes.Unauthenticated, "FIREBREAK_TOKEN"},
		"unknown key":    {[]grpc.CallOption{withToken("not-a-key-0123456789")}, codes.Unauthenticated, "unknown API key"},
		"viewer acks":    {[]grpc.CallOption{withToken(viewer.Key)}, codes.PermissionDenied, "AcknowledgeCase needs role responder; key vic has roles viewer"},
		"oversize token": {[]grpc.CallOption{withToken(strings.Repeat("k", auth.MaxTokenBytes+1))}, codes.Unauthenticated, "longer than"},
	} {
		_, err := client.AcknowledgeCase(ctx, &fbv1.AcknowledgeCaseRequest{Id: "c1"}, tc.opts...)
		if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.says) {
			t.Errorf("%s: %v, want %s saying %q", name, err, tc.code, tc.says)
		}
	}
	if c.acks != 0 {
		t.Fatalf("a refused call reached the handler %d times", c.acks)
	}
	if _, err := client.AcknowledgeCase(ctx, &fbv1.AcknowledgeCaseRequest{Id: "c1"}, withToken(responder.Key)); err != nil || c.acks != 1 {
		t.Fatalf("responder's ack: %v (%d acks)", err, c.acks)
	}
	got, err := client.GetCase(ctx, &fbv1.GetCaseRequest{Id: "c1"}, withToken(responder.Key))
	if err != nil || got.Case.Id != "ana" || got.Case.Team != auth.MethodAPIKey {
		t.Fatalf("a responder may read (responder includes viewer) and the handler sees who: %v %v", got, err)
	}
	stream, err := client.WatchCases(ctx, &fbv1.WatchCasesRequest{}, withToken(viewer.Key))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := stream.Recv(); err != nil || ev.Event.Actor != "vic" {
		t.Fatalf("stream handler sees the caller: %v %v", ev, err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health must stay open: %v", err)
	}
}

func TestServerWithoutCredentialsConfiguredRefusesEveryone(t *testing.T) {
	a, err := auth.New(auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, _ := serve(t, a)
	_, err = fbv1.NewEscalationServiceClient(conn).GetCase(context.Background(), &fbv1.GetCaseRequest{Id: "c1"}, withToken("anything-0123456789"))
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "--auth-keys-file") {
		t.Fatalf("%v, want Unauthenticated naming the setting", err)
	}
}

const audience = "firebreak"

func oidcAuthenticator(t *testing.T, issuer *authtest.Issuer) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(auth.Options{OIDC: auth.OIDC{
		Issuer: issuer.URL, Audience: audience, RolesClaim: "groups", BrandsClaim: "brands",
		RoleMap: map[string]auth.Role{"social-oncall": auth.Responder}, ClockSkew: time.Minute,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestIDTokensAreCheckedForSignatureAudienceAndExpiry(t *testing.T) {
	issuer := authtest.NewIssuer(t)
	a := oidcAuthenticator(t, issuer)
	ctx := context.Background()
	now := time.Now()

	id, err := a.Verify(ctx, issuer.Token(t, audience, authtest.Claims{"sub": "u-1", "email": "ana@example.com", "groups": []string{"social-oncall", "staff"}}))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "u-1" || id.Name != "ana@example.com" || id.Method != auth.MethodOIDC || !id.Has(auth.Responder) || id.Has(auth.Admin) {
		t.Fatalf("identity %+v", id)
	}
	id, err = a.Verify(ctx, issuer.Token(t, audience, authtest.Claims{"sub": "bot", "groups": "ingest", "brands": []string{"acme"}, "exp": now.Add(-30 * time.Second).Unix()}))
	if err != nil || !id.MayIngest("acme") || id.MayIngest("globex") {
		t.Fatalf("a token expired within the clock skew, with roles and brands from claims: %+v %v", id, err)
	}

	for name, tc := range map[string]struct {
		token string
		says  string
	}{
		"expired":        {issuer.Token(t, audience, authtest.Claims{"sub": "u", "exp": now.Add(-2 * time.Minute).Unix()}), "expired"},
		"not yet valid":  {issuer.Token(t, audience, authtest.Claims{"sub": "u", "nbf": now.Add(10 * time.Minute).Unix()}), "not valid before"},
		"no expiry":      {issuer.Token(t, audience, authtest.Claims{"sub": "u", "exp": nil}), "no exp"},
		"wrong audience": {issuer.Token(t, "another-app", authtest.Claims{"sub": "u"}), "audience"},
		"forged":         {issuer.Stranger(t).Token(t, audience, authtest.Claims{"sub": "u", "groups": []string{"admin"}}), "refused"},
		"not a JWT":      {"a.b.c", "refused"},
	} {
		if id, err := a.Verify(ctx, tc.token); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %+v %v, want an error saying %q", name, id, err, tc.says)
		}
	}
}

func TestIdentityProviderThatIsDownMakesCallsUnavailableNotAnonymous(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	a, err := auth.New(auth.Options{OIDC: auth.OIDC{Issuer: down.URL, Audience: audience}})
	if err != nil {
		t.Fatal(err)
	}
	conn, _ := serve(t, a)
	_, err = fbv1.NewEscalationServiceClient(conn).GetCase(context.Background(), &fbv1.GetCaseRequest{Id: "c1"}, withToken("eyJ.eyJ.sig"))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("%v, want Unavailable", err)
	}
}

func TestHTTPAPIRefusesBeforeTheHandlerRuns(t *testing.T) {
	bot := &authtest.Key{Name: "acme-bot", Roles: []auth.Role{auth.Ingest}, Brands: []string{"acme"}}
	viewer := &authtest.Key{Name: "vic", Roles: []auth.Role{auth.Viewer}}
	a, err := auth.New(auth.Options{KeysFile: authtest.KeysFile(t, bot, viewer)})
	if err != nil {
		t.Fatal(err)
	}
	reached := 0
	srv := httptest.NewServer(a.Require("POST /v1/mentions", auth.SubmitMentions, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		id, _ := auth.FromContext(r.Context())
		_, _ = w.Write([]byte(id.Name))
	})))
	t.Cleanup(srv.Close)
	for name, tc := range map[string]struct {
		header http.Header
		code   int
		says   string
	}{
		"no token":  {http.Header{}, http.StatusUnauthorized, "Authorization: Bearer"},
		"wrong key": {http.Header{"Authorization": {"Bearer wrong-0123456789abcdef"}}, http.StatusUnauthorized, "unknown API key"},
		"viewer":    {http.Header{"Authorization": {"Bearer " + viewer.Key}}, http.StatusForbidden, "needs role ingest"},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
		req.Header = tc.header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(body.Error, tc.says) {
			t.Errorf("%s: %d %q, want %d saying %q", name, resp.StatusCode, body.Error, tc.code, tc.says)
		}
	}
	if reached != 0 {
		t.Fatalf("refused requests reached the handler %d times", reached)
	}
	for _, header := range []http.Header{{"Authorization": {"bearer " + bot.Key}}, {"X-Api-Key": {bot.Key}}} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%v: %d", header, resp.StatusCode)
		}
	}
}
