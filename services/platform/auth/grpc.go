package auth

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// UnaryInterceptor authenticates each call and checks its method's rule in
// rules; the handler finds the caller with FromContext.
func (a *Authenticator) UnaryInterceptor(rules map[string]Rule) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.admit(ctx, rules, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamInterceptor is UnaryInterceptor for streams.
func (a *Authenticator) StreamInterceptor(rules map[string]Rule) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.admit(ss.Context(), rules, info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &identifiedStream{ServerStream: ss, ctx: ctx})
	}
}

type identifiedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identifiedStream) Context() context.Context { return s.ctx }

// admit returns ctx with the caller's identity, or the status to refuse with.
func (a *Authenticator) admit(ctx context.Context, rules map[string]Rule, method string) (context.Context, error) {
	rule, ok := rules[method]
	if !ok {
		return nil, status.Errorf(codes.PermissionDenied, "%s has no access rule, so nobody may call it", methodName(method))
	}
	if rule.Open {
		return ctx, nil
	}
	id, err := a.Verify(ctx, tokenFromMetadata(ctx))
	if err == nil {
		err = Authorize(methodName(method), rule, id)
	}
	if err != nil {
		return nil, Status(err)
	}
	return NewContext(ctx, id), nil
}

// Status maps a refusal from this package to its gRPC status.
func Status(err error) error {
	switch {
	case errors.Is(err, errDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, errUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	}
	return status.Error(codes.Unauthenticated, err.Error())
}

// Denied returns a PermissionDenied refusal for checks a handler makes
// itself, such as ingest's brands.
func Denied(format string, args ...any) error {
	return status.Errorf(codes.PermissionDenied, format, args...)
}

// tokenFromMetadata reads "authorization: Bearer TOKEN", or "x-api-key",
// which ingest's clients have always been able to send.
func tokenFromMetadata(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	first := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return Bearer(first("authorization"), first("x-api-key"))
}

// Bearer extracts the token from an Authorization header value ("Bearer
// TOKEN", scheme case-insensitive) or an X-API-Key value.
func Bearer(authorization, apiKey string) string {
	if apiKey != "" {
		return strings.TrimSpace(apiKey)
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}

// Token is a client's credential, sent with every call.
type Token string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t Token) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity is false: in-cluster traffic may be plaintext
// behind a NetworkPolicy or a mesh that adds TLS. Use TLS across networks.
func (Token) RequireTransportSecurity() bool { return false }
