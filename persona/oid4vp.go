package persona

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/verifier"
)

// IsAuthorizationLink reports whether s is an OpenID4VP link
// (openid4vp://…) rather than a Mustard one.
func IsAuthorizationLink(s string) bool {
	return strings.HasPrefix(strings.TrimSpace(s), verifier.OID4VPScheme+":")
}

// FetchAuthorizationRequest resolves an OpenID4VP link: it fetches the
// Request Object from request_uri (GET, or POST with a wallet_nonce when
// request_uri_method=post), checks it for the link's client_id (for
// decentralized_identifier:did:web:…, the signature against the key its
// DID document publishes), and maps it onto a PresentationRequest whose
// OID4VP field carries it.
func FetchAuthorizationRequest(ctx context.Context, hc *http.Client, link string) (*verifier.PresentationRequest, error) {
	p, err := verifier.ParseAuthorizationLink(link)
	if err != nil {
		return nil, err
	}
	obj, walletNonce := p.Request, ""
	if p.RequestURI != "" {
		var req *http.Request
		if p.RequestURIMethod == "post" {
			if walletNonce, err = randomID(); err != nil {
				return nil, err
			}
			form := url.Values{"wallet_nonce": {walletNonce}, "wallet_metadata": {walletMetadata}}
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, p.RequestURI, strings.NewReader(form.Encode()))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, p.RequestURI, nil)
		}
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", verifier.RequestObjectMediaType)
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch the request: %w", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, verifier.MaxRequestObject+1))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("the request is expired or already answered (%s)", resp.Status)
		}
		obj = string(b)
	}
	keys, err := verifier.DIDWebKeys(verifier.DIDWebConfig{
		// A decentralized_identifier: client is who controls the DID's
		// domain: that is what the wallet shows; there is no accreditation
		// of verifiers to check.
		Accredited: func(string) bool { return true }, HTTPClient: hc,
	})
	if err != nil {
		return nil, err
	}
	resolve := func(ctx context.Context, did, kid string) (jwk.Key, error) {
		if !strings.HasPrefix(did, "did:web:") {
			return nil, errors.New("only did:web verifiers can be resolved")
		}
		return keys(ctx, sdjwt.KeyQuery{Issuer: did, KeyID: kid})
	}
	a, err := verifier.ParseRequestObject(ctx, obj, p.ClientID, resolve, time.Now())
	if err != nil {
		return nil, err
	}
	if a.WalletNonce != walletNonce {
		return nil, errors.New("the request does not carry this wallet's wallet_nonce")
	}
	return a.PresentationRequest(), nil
}

// walletMetadata is what a Mustard wallet supports (§10), sent with
// request_uri_method=post.
const walletMetadata = `{"vp_formats_supported":{"dc+sd-jwt":{"sd-jwt_alg_values":["ES256","EdDSA"],"kb-jwt_alg_values":["ES256"]}},"response_modes_supported":["direct_post","direct_post.jwt"],"client_id_prefixes_supported":["decentralized_identifier","redirect_uri"],"request_object_signing_alg_values_supported":["ES256","EdDSA"]}`

// AnswerOID4VP answers an OpenID4VP request (req.OID4VP set) as
// AnswerRequest does, and returns the redirect_uri the verifier answered
// with (same-device flow: the browser continues there), or "".
func AnswerOID4VP(ctx context.Context, hc *http.Client, req *verifier.PresentationRequest, credential string, personaKey jwk.Key) (string, error) {
	if req.OID4VP == nil {
		return "", errors.New("not an OpenID4VP request")
	}
	return answerOID4VP(ctx, hc, req, credential, personaKey)
}

// answerOID4VP presents the credential for the request's first credential
// query, bound to the client_id and nonce (§B.3.6), and posts the
// vp_token with state to the response_uri (direct_post, §8.2). It
// returns the redirect_uri the verifier answered with, if any.
func answerOID4VP(ctx context.Context, hc *http.Client, req *verifier.PresentationRequest, credential string, personaKey jwk.Key) (string, error) {
	a := req.OID4VP
	tok, err := sdjwt.Parse(credential)
	if err != nil {
		return "", err
	}
	cq := a.DCQLQuery.Credentials[0]
	vp, err := tok.Present(sdjwt.PresentRequest{Disclose: cq.TopLevelClaims(), Audience: a.ClientID, Nonce: a.Nonce}, personaKey)
	if err != nil {
		return "", err
	}
	form, err := responseForm(a, &verifier.AuthorizationResponse{VPToken: map[string][]string{cq.ID: {vp}}, State: a.State})
	if err != nil {
		return "", err
	}
	return postForm(ctx, hc, a.ResponseURI, form)
}

// responseForm is the direct_post body: the parameters, or for
// direct_post.jwt the response encrypted to the verifier (§8.3).
func responseForm(a *verifier.AuthorizationRequest, r *verifier.AuthorizationResponse) (url.Values, error) {
	if a.ResponseMode != verifier.ResponseModeDirectPostJWT {
		return r.Form()
	}
	jwe, err := verifier.EncryptResponse(a, r)
	if err != nil {
		return nil, err
	}
	return url.Values{"response": {jwe}}, nil
}

// DeclineOID4VP tells the verifier the person declined (§8.5:
// access_denied), so that it stops waiting.
func DeclineOID4VP(ctx context.Context, hc *http.Client, req *verifier.PresentationRequest) error {
	form, err := responseForm(req.OID4VP, &verifier.AuthorizationResponse{Error: "access_denied", State: req.OID4VP.State})
	if err != nil {
		return err
	}
	_, err = postForm(ctx, hc, req.OID4VP.ResponseURI, form)
	return err
}

func postForm(ctx context.Context, hc *http.Client, uri string, form url.Values) (string, error) {
	post, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(post)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		var out struct {
			RedirectURI string `json:"redirect_uri"`
		}
		_ = json.Unmarshal(data, &out)
		return safeRedirect(out.RedirectURI), nil
	}
	pe := &ProblemError{Status: resp.StatusCode}
	if json.Unmarshal(data, &pe.Body) != nil || pe.Type == "" {
		pe.Title = http.StatusText(resp.StatusCode)
	}
	return "", pe
}

// safeRedirect is a verifier's redirect_uri if it is an http(s) URL of
// printable ASCII, else "": the wallet prints it and a browser opens it,
// so no escape sequences, direction overrides or script URLs.
func safeRedirect(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return ""
		}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > 2048 {
		return ""
	}
	return s
}

func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
