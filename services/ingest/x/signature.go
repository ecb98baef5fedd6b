// Package x takes mentions in from X (Twitter) webhooks: the CRC challenge
// and signature of both the X Activity API and the Account Activity API,
// their post events turned into mentions and brand replies, and their
// unencrypted direct messages turned into private ones. Parsing and
// signing are pure; webhook.go is the HTTP adapter.
package x

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// SignatureHeader carries the HMAC of every POST's body.
const SignatureHeader = "X-Twitter-Webhooks-Signature"

// ErrBadSignature means the body was not signed with the app's consumer
// secret: a forgery, or the wrong secret configured.
var ErrBadSignature = errors.New("x-twitter-webhooks-signature does not match the body; check --x-consumer-secret-file")

// MaxCRCTokenBytes bounds a crc_token. X's tokens are short base64 strings;
// the bound leaves them ample room and keeps anything body-sized out.
const MaxCRCTokenBytes = 256

// ResponseToken answers a CRC challenge: "sha256=" and the base64 of the
// HMAC-SHA256 of crc_token keyed with the consumer secret.
func ResponseToken(secret []byte, crcToken string) string {
	return "sha256=" + sign(secret, []byte(crcToken))
}

// CheckCRCToken refuses a crc_token that is not shaped like X's. The CRC
// answer is the same HMAC that signs a delivery, so answering for any
// string would sign any forged body: a token is only base64 or base64url
// characters, of bounded length, and so can never be a JSON body.
func CheckCRCToken(token string) error {
	switch {
	case token == "":
		return errors.New("crc_token query parameter is missing")
	case len(token) > MaxCRCTokenBytes:
		return fmt.Errorf("crc_token is %d bytes; X's tokens are at most %d", len(token), MaxCRCTokenBytes)
	}
	body := strings.TrimRight(token, "=")
	if len(token)-len(body) > 2 {
		return errors.New("crc_token is not base64: more than two '=' of padding")
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_') {
			return fmt.Errorf("crc_token has a character at byte %d that base64 does not use; X's tokens are base64", i)
		}
	}
	return nil
}

// Verify checks a POST's signature header against its body.
func Verify(secret, body []byte, header string) error {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return verifyMAC(mac, header)
}

// ErrTooLarge is returned by ReadSigned for a body over its cap.
var ErrTooLarge = errors.New("webhook body is larger than accepted")

// ReadSigned reads at most limit bytes of body, computing their HMAC as
// they arrive, and returns them only if header signs them. Nothing is
// parsed before the signature holds, and an unsigned body never costs more
// than limit bytes.
func ReadSigned(secret []byte, body io.Reader, limit int64, header string) ([]byte, error) {
	mac := hmac.New(sha256.New, secret)
	var buf strings.Builder
	n, err := io.Copy(io.MultiWriter(mac, &buf), io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read webhook body: %w", err)
	}
	if n > limit {
		return nil, ErrTooLarge
	}
	if err := verifyMAC(mac, header); err != nil {
		return nil, err
	}
	return []byte(buf.String()), nil
}

func verifyMAC(mac hash.Hash, header string) error {
	got, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return ErrBadSignature
	}
	// Compare the decoded MACs in constant time, so a forger learns
	// nothing from how long a wrong guess takes.
	gotMAC, err := base64.StdEncoding.DecodeString(got)
	if err != nil {
		return ErrBadSignature
	}
	if !hmac.Equal(gotMAC, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

func sign(secret, data []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(data)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
