package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/firebreak/firebreak/services/platform/clock"
)

// Post sends body to url with the given headers and classifies the outcome,
// the common path of every HTTP receiver.
func Post(ctx context.Context, client *http.Client, clk clock.Clock, url string, header http.Header, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return NoRetry(fmt.Errorf("build request to %s: %w; fix the receiver's URL", redactURL(url), withoutURL(err)))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return TransportError(ctx, fmt.Errorf("POST %s: %w", redactURL(url), withoutURL(err)))
	}
	defer resp.Body.Close()
	retry, err = CheckResponse(resp, clk.Now())
	// Drain so the connection is reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return retry, err
}
