package scorer

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/wording"
	"github.com/firebreak/firebreak/services/scorer/score"
)

// ReplyCheckPath is where the HTTP reply check is served.
const ReplyCheckPath = "POST /v1/replies/check"

// maxReplyBody bounds a request body before it is read: a draft and a
// context of 10,000 characters each, every one escaped as \uXXXX\uXXXX,
// fit with room to spare.
const maxReplyBody = 256 << 10

// replyCheckIn is the JSON body of POST /v1/replies/check.
type replyCheckIn struct {
	Draft   string `json:"draft"`
	Mention *struct {
		Text string `json:"text"`
		// Visibility "private" says the conversation so far was private.
		Visibility string `json:"visibility"`
	} `json:"mention"`
	// Public defaults to true: a draft is checked as a public reply unless
	// the caller says otherwise, so personal data is never missed by omission.
	Public *bool `json:"public"`
}

// findingOut is one finding in the JSON answer.
type findingOut struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Reason   string `json:"reason"`
	Start    int32  `json:"start"`
	End      int32  `json:"end"`
}

// replyCheckOut is the JSON answer. OK is false when any finding is a
// warning or worse.
type replyCheckOut struct {
	OK             bool         `json:"ok"`
	Findings       []findingOut `json:"findings"`
	Hostile        bool         `json:"hostile"`
	Dismissive     bool         `json:"dismissive"`
	NoNextStep     bool         `json:"no_next_step"`
	NoWayForward   bool         `json:"no_way_forward"`
	ExposesPrivate bool         `json:"exposes_private"`
	MovesPrivate   bool         `json:"moves_private"`
	Public         bool         `json:"public"`
}

// ReplyCheckHandler is POST /v1/replies/check: the reply check in JSON, for
// care tools that do not speak gRPC. It is a plain handler so the server
// can wrap it (authentication) where it is mounted.
func (s *Service) ReplyCheckHandler() http.Handler { return NewReplyCheckHandler(s.scorer) }

// NewReplyCheckHandler serves the reply check of sc alone, without the
// rest of the service: the load tool measures it this way.
func NewReplyCheckHandler(sc *score.Scorer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in replyCheckIn
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxReplyBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, http.StatusRequestEntityTooLarge, "body is larger than "+strconv.Itoa(maxReplyBody)+" bytes; a draft may have at most "+strconv.Itoa(MaxDraftChars)+" characters")
				return
			}
			writeError(w, http.StatusBadRequest, `body is not a JSON object like {"draft":"...","mention":{"text":"..."},"public":true}: `+err.Error())
			return
		}
		req := replyRequest{Draft: in.Draft, Public: in.Public == nil || *in.Public}
		if in.Mention != nil {
			req.MentionText = in.Mention.Text
			switch strings.ToLower(in.Mention.Visibility) {
			case "", "public", "visibility_public":
			case "private", "visibility_private":
				req.PrivateThread = true
			default:
				writeError(w, http.StatusBadRequest, `mention.visibility is "`+in.Mention.Visibility+`"; give "public" or "private"`)
				return
			}
		}
		check, err := checkDraft(sc, req)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, replyCheckJSON(check))
	})
}

func replyCheckJSON(c *fbv1.ReplyCheck) replyCheckOut {
	out := replyCheckOut{
		OK: true, Findings: make([]findingOut, 0, len(c.Findings)),
		Hostile: c.Hostile, Dismissive: c.Dismissive, NoNextStep: c.NoNextStep, NoWayForward: c.NoWayForward,
		ExposesPrivate: c.ExposesPrivate, MovesPrivate: c.MovesPrivate, Public: c.Public,
	}
	for _, f := range c.Findings {
		if f.Severity >= fbv1.Severity_SEVERITY_WARNING {
			out.OK = false
		}
		out.Findings = append(out.Findings, findingOut{
			Kind: f.Code, Severity: wording.Severity(f.Severity), Reason: f.Message, Start: f.Start, End: f.End,
		})
	}
	return out
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
