package auth

import (
	"fmt"
	"strings"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Rule says who may call a method. Open methods need no credentials;
// otherwise the caller must hold one of Roles, or with no Roles just be
// authenticated.
type Rule struct {
	Open  bool
	Roles []Role
}

// needs builds a rule for callers holding any of roles.
func needs(roles ...Role) Rule { return Rule{Roles: roles} }

// Methods is every gRPC method Firebreak serves and who may call it. A
// method missing here is refused to everyone (a test checks that every
// method in the protos has a rule), so a new RPC cannot ship open by
// accident.
var Methods = map[string]Rule{
	fbv1.IngestService_Submit_FullMethodName: needs(Ingest),

	fbv1.ScorerService_Score_FullMethodName:      needs(Viewer, Service),
	fbv1.ScorerService_CheckReply_FullMethodName: needs(Responder, Service),

	// GetReach may spend the platforms' API quota, so people cannot call it
	// at will.
	fbv1.ReachService_GetReach_FullMethodName: needs(Service, Admin),

	fbv1.EscalationService_ListCases_FullMethodName:       needs(Viewer, Service),
	fbv1.EscalationService_GetCase_FullMethodName:         needs(Viewer, Service),
	fbv1.EscalationService_WatchCases_FullMethodName:      needs(Viewer, Service),
	fbv1.EscalationService_ExplainDecision_FullMethodName: needs(Viewer, Service),
	// Acting on a case is a person's act: a service account cannot.
	fbv1.EscalationService_AcknowledgeCase_FullMethodName: needs(Responder),
	fbv1.EscalationService_ResolveCase_FullMethodName:     needs(Responder),
	fbv1.EscalationService_AssignCase_FullMethodName:      needs(Responder),
	fbv1.EscalationService_ReopenCase_FullMethodName:      needs(Responder),
	fbv1.EscalationService_SnoozeCase_FullMethodName:      needs(Responder),
	fbv1.EscalationService_UnsnoozeCase_FullMethodName:    needs(Responder),
	fbv1.EscalationService_EvaluatePolicy_FullMethodName:  needs(Admin),
	fbv1.EscalationService_GetInsights_FullMethodName:     needs(Viewer, Service),
	fbv1.EscalationService_GetPolicyStatus_FullMethodName: needs(Viewer, Service),
	// Muting pages is a responder's act, recorded under their name.
	fbv1.EscalationService_AddSilence_FullMethodName:    needs(Responder),
	fbv1.EscalationService_ExpireSilence_FullMethodName: needs(Responder),
	fbv1.EscalationService_ListSilences_FullMethodName:  needs(Viewer, Service),

	fbv1.NotifierService_TestReceiver_FullMethodName:     needs(Admin),
	fbv1.NotifierService_ListDeliveries_FullMethodName:   needs(Viewer, Service),
	fbv1.NotifierService_GetDeliveryStats_FullMethodName: needs(Viewer, Service),

	// Dead letters hold customers' texts, private ones too, and a replay
	// acts on the cases: operators only.
	fbv1.DeadLetterService_ListDeadLetters_FullMethodName:  needs(Admin),
	fbv1.DeadLetterService_GetDeadLetter_FullMethodName:    needs(Admin),
	fbv1.DeadLetterService_ReplayDeadLetter_FullMethodName: needs(Admin),
	// A redrive re-reads customers' texts and acts on cases: after a
	// Redis loss, by an operator.
	fbv1.RedriveService_Redrive_FullMethodName: needs(Admin),

	// Load balancers and kubelets probe health without credentials.
	healthpb.Health_Check_FullMethodName: {Open: true},
	healthpb.Health_Watch_FullMethodName: {Open: true},
	healthpb.Health_List_FullMethodName:  {Open: true},
	// Reflection describes the API to any authenticated caller, and to
	// nobody else.
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      {},
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": {},
}

// HTTP rules, for APIs served over HTTP beside the gRPC ones.
var (
	// SubmitMentions is ingest's POST /v1/mentions.
	SubmitMentions = needs(Ingest)
	// CheckReplies is the scorer's POST /v1/replies/check.
	CheckReplies = needs(Responder, Service)
)

// Authorize says whether id may call what rule guards; what names it in
// the refusal.
func Authorize(what string, rule Rule, id Identity) error {
	if rule.Open || len(rule.Roles) == 0 || id.HasAny(rule.Roles...) {
		return nil
	}
	names := make([]string, len(rule.Roles))
	for i, r := range rule.Roles {
		names[i] = string(r)
	}
	return fmt.Errorf("%w: %s needs role %s; %s has %s", errDenied, what, strings.Join(names, " or "), id, id.roleList())
}

// methodName shortens "/firebreak.v1.EscalationService/AcknowledgeCase"
// to "EscalationService/AcknowledgeCase" for messages.
func methodName(full string) string {
	s := strings.TrimPrefix(full, "/")
	if svc, method, ok := strings.Cut(s, "/"); ok {
		if i := strings.LastIndex(svc, "."); i >= 0 {
			svc = svc[i+1:]
		}
		return svc + "/" + method
	}
	return s
}
