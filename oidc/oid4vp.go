package oidc

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/verifier"
)

// oid4vpRequest is a login's request as an OpenID4VP 1.0 Authorization
// Request: the same nonce, scope, grade and claims as the Mustard
// request, the OP's verifier identity as client_id (so the key-binding
// JWT's aud), state the login id, the answer direct_post to
// /oauth2/login/{id}/oid4vp-response.
func (p *Provider) oid4vpRequest(l *login, c *Client) *verifier.AuthorizationRequest {
	req := p.presentationRequest(l, c)
	return &verifier.AuthorizationRequest{
		Audience: verifier.SelfIssuedAudience, IssuedAt: p.cfg.Now().Unix(), Expiry: req.ExpiresAt.Unix(),
		ClientID: p.oid4vpClientID(l), ResponseType: "vp_token", ResponseMode: verifier.ResponseModeDirectPost, ResponseURI: p.oid4vpResponseURI(l),
		Nonce: l.Nonce, State: l.ID, DCQLQuery: verifier.DefaultDCQL(req.RequiredClaims),
		ClientMetadata: &verifier.ClientMetadata{ClientName: c.displayName(), VPFormatsSupported: map[string]map[string]any{
			verifier.FormatSDJWT: {"sd-jwt_alg_values": []string{"ES256", "EdDSA"}, "kb-jwt_alg_values": []string{"ES256"}},
		}},
		Mustard: &verifier.MustardRequest{Scope: req.Scope, MinGrade: req.MinGrade, Predicates: req.Predicates, Disclose: req.Disclose},
	}
}

// oid4vpResponseURI is where the wallet posts a login's answer.
func (p *Provider) oid4vpResponseURI(l *login) string {
	return p.cfg.Issuer + "/oauth2/login/" + l.ID + "/oid4vp-response"
}

// oid4vpClientID is the OP's verifier identity (the key-binding JWT's
// aud): its configured client_id, else redirect_uri: and the login's
// response URI.
func (p *Provider) oid4vpClientID(l *login) string {
	if id := p.cfg.OID4VP.ClientID; id != "" {
		return id
	}
	return verifier.PrefixRedirectURI + p.oid4vpResponseURI(l)
}

// oid4vpLink is the login's openid4vp:// link, or "" without a verifier
// identity.
func (p *Provider) oid4vpLink(l *login) string {
	if p.cfg.OID4VP == nil {
		return ""
	}
	return verifier.AuthorizationLink(p.oid4vpClientID(l), p.cfg.Issuer+"/oauth2/login/"+l.ID+"/oid4vp", "")
}

// serveOID4VPRequest serves a login's signed Request Object.
func (p *Provider) serveOID4VPRequest(w http.ResponseWriter, r *http.Request) {
	l, _, err := p.loadLogin(r.Context(), r.PathValue("id"))
	if err != nil || l.State != statePending || p.cfg.OID4VP == nil {
		problem.Write(w, r, ErrLoginUnknown)
		return
	}
	c, err := p.client(r.Context(), l.ClientID)
	if err != nil {
		problem.Write(w, r, ErrLoginUnknown)
		return
	}
	a := p.oid4vpRequest(l, c)
	var key jwk.Key
	kid := ""
	if strings.HasPrefix(a.ClientID, verifier.PrefixDID) {
		key = p.cfg.OID4VP.Key()
		kid = strings.TrimPrefix(a.ClientID, verifier.PrefixDID) + "#" + key.KeyID()
	}
	obj, err := verifier.SignRequestObject(a, key, kid)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", verifier.RequestObjectMediaType)
	_, _ = w.Write([]byte(obj))
}

// serveOID4VPResponse is a login's Response Endpoint (direct_post): a
// vp_token with one persona presentation for credential query "persona",
// and the login's state; or the wallet's error, shown on the page.
func (p *Provider) serveOID4VPResponse(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l, old, err := p.loadLogin(ctx, r.PathValue("id"))
	if err != nil || l.State != statePending || p.cfg.OID4VP == nil {
		problem.Write(w, r, ErrLoginUnknown)
		return
	}
	if err := r.ParseForm(); err != nil {
		problem.Write(w, r, problem.ErrMalformed)
		return
	}
	resp, err := verifier.ParseAuthorizationResponse(r.PostForm)
	if err != nil {
		problem.Write(w, r, verifier.ErrInvalidRequest)
		return
	}
	if subtle.ConstantTimeCompare([]byte(resp.State), []byte(l.ID)) != 1 {
		problem.Write(w, r, verifier.ErrState)
		return
	}
	c, err := p.client(ctx, l.ClientID)
	if err != nil {
		problem.Write(w, r, ErrLoginUnknown)
		return
	}
	if resp.Error != "" {
		l.Reason = "Your wallet declined to share a persona with " + c.displayName() + "."
		if err := p.saveLogin(ctx, l, old); err != nil {
			problem.Write(w, r, ErrLoginUnknown)
			return
		}
		problem.JSON(w, http.StatusOK, map[string]string{})
		return
	}
	vps := resp.VPToken["persona"]
	// The query asks for one dc+sd-jwt presentation: a JSON-LD one, which
	// the verifier would also take, is not what was asked for.
	if len(resp.VPToken) != 1 || len(vps) != 1 || strings.HasPrefix(strings.TrimSpace(vps[0]), "{") {
		problem.Write(w, r, verifier.ErrDCQLUnsatisfied)
		return
	}
	p.accept(w, r, l, old, vps[0], p.oid4vpClientID(l))
}
