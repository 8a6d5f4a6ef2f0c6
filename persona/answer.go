package persona

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/verifier"
)

// FetchRequest fetches and checks the presentation request a deep link,
// QR payload or URL refers to: a Mustard request, or an OpenID4VP
// Authorization Request (openid4vp://…).
func FetchRequest(ctx context.Context, hc *http.Client, link string) (*verifier.PresentationRequest, error) {
	if IsAuthorizationLink(link) {
		return FetchAuthorizationRequest(ctx, hc, link)
	}
	uri, err := verifier.RequestURIOf(link)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", verifier.RequestMediaType)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the presentation request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, verifier.MaxRequest+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the presentation request is expired or already answered (%s)", resp.Status)
	}
	return verifier.ParseRequest(body)
}

// AnswerRequest presents a persona credential for req: bound to its
// audience and nonce by the persona key, disclosing what it requires (and
// nothing else), posted to its response URI. A refusal comes back as a
// *ProblemError.
func AnswerRequest(ctx context.Context, hc *http.Client, req *verifier.PresentationRequest, credential string, personaKey jwk.Key) error {
	if req.OID4VP != nil {
		_, err := answerOID4VP(ctx, hc, req, credential, personaKey)
		return err
	}
	tok, err := sdjwt.Parse(credential)
	if err != nil {
		return err
	}
	vp, err := tok.Present(sdjwt.PresentRequest{Disclose: req.RequiredClaims, Audience: req.Audience, Nonce: req.Nonce}, personaKey)
	if err != nil {
		return err
	}
	b, err := json.Marshal(verifier.ResponseJSON{Presentation: vp})
	if err != nil {
		return err
	}
	post, err := http.NewRequestWithContext(ctx, http.MethodPost, req.ResponseURI, bytes.NewReader(b))
	if err != nil {
		return err
	}
	post.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(post)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	pe := &ProblemError{Status: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &pe.Body) != nil || pe.Type == "" {
		pe.Title = http.StatusText(resp.StatusCode)
	}
	return pe
}
