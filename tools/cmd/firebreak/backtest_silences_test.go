package main

import (
	"strings"
	"testing"
	"time"
)

// outageDay is three outage complaints inside a silence, one after it
// ended, and a small author's complaint captured with 240 reshares ten
// minutes after it was posted.
const outageDay = `{"id":"x:11","platform":"PLATFORM_X","brand":"acme","author":{"id":"n1","handle":"n1","followers":"800"},"text":"@acme broadband down, no internet since this morning. Awful","createdAt":"2025-03-02T09:00:00Z"}
{"id":"x:12","platform":"PLATFORM_X","brand":"acme","author":{"id":"n2","handle":"n2","followers":"332000"},"text":"@acme internet is down and nothing works. Terrible","createdAt":"2025-03-02T09:05:00Z"}
{"id":"x:13","platform":"PLATFORM_X","brand":"acme","author":{"id":"n3","handle":"n3","followers":"900"},"text":"@acme the network has been down for hours, no internet. Useless","createdAt":"2025-03-02T09:30:00Z"}
{"id":"x:14","platform":"PLATFORM_X","brand":"acme","author":{"id":"n4","handle":"n4","followers":"700"},"text":"@acme broadband down again, no internet. Awful","createdAt":"2025-03-02T13:00:00Z"}
{"id":"x:15","platform":"PLATFORM_X","brand":"acme","author":{"id":"v1","handle":"v1","followers":"150"},"text":"@acme charged twice this month and nobody answers. Awful","createdAt":"2025-03-02T10:00:00Z","ingestedAt":"2025-03-02T10:10:00Z","metrics":{"reposts":"230","quotes":"10","likes":"900"}}
`

// outageSilences is what `firebreak silences list -o json` prints.
const outageSilences = `{"silences":[{"id":"s1","matchers":[{"name":"brand","type":"MATCH_TYPE_EQUAL","value":"acme"},{"name":"topic","type":"MATCH_TYPE_EQUAL","value":"outage"}],
"starts_at":"2025-03-02T08:00:00Z","ends_at":"2025-03-02T12:00:00Z","created_by":"alice","comment":"broadband outage north"}]}`

func TestBacktestReportsSilencedDecisionsAndViralEscalations(t *testing.T) {
	t.Parallel()
	in := writeFile(t, "outage.ndjson", outageDay)
	sil := writeFile(t, "silences.json", outageSilences)
	r := runJSON(t, "--policy", "default", "--in", in, "--brand-followers", "acme=203000", "--silences", sil)

	var silenced []string
	for _, s := range r.Policy.Silenced {
		silenced = append(silenced, s.MentionID)
		if s.Silence != "s1" || !strings.HasPrefix(s.Reason, "silenced by 'broadband outage north', until ") || !strings.HasSuffix(s.Reason, "by alice") {
			t.Errorf("silenced record %+v", s)
		}
	}
	if strings.Join(silenced, ",") != "x:11,x:12,x:13" || r.Policy.Summary.Silenced != 3 {
		t.Fatalf("silenced %v, want the three outage complaints inside the silence", silenced)
	}
	// While the silence lasts nobody is paged about the outage; once it
	// ends, the chains of cases still unanswered go on.
	ended := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
	paged := map[string]bool{}
	for _, c := range r.Policy.Cases {
		for _, p := range c.Pages {
			if p.At.Before(ended) {
				paged[c.Author] = true
			}
		}
	}
	if paged["n1"] || paged["n2"] || paged["n3"] || !paged["v1"] {
		t.Fatalf("paged before 12:00 %v: the silenced complaints must page nobody while it lasts, the rest must page", paged)
	}
	if len(r.Policy.Viral) != 1 || r.Policy.Viral[0].MentionID != "x:15" || r.Policy.Viral[0].Team != "senior" ||
		!strings.Contains(why(r.Policy.Viral[0].Reasons), "reshared 240 times in the last hour") {
		t.Fatalf("viral %+v, want the small author's complaint reshared 240 times", r.Policy.Viral)
	}
}
