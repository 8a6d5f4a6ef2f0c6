package persona

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

const communityDir = "communities"

// Membership is the wallet's record of a community it joined.
type Membership struct {
	Community string    `json:"community"`
	Server    string    `json:"server"`
	Index     uint64    `json:"index"`
	Token     string    `json:"token"` // lets this member leave
	Persona   string    `json:"persona"`
	Joined    time.Time `json:"joined"`
	Left      time.Time `json:"left,omitzero"`
}

var communityID = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)

// ErrNoMembership is a community this wallet has not joined.
var ErrNoMembership = errors.New("this wallet is not a member of that community: join it with `mustard wallet community join ID`")

// SaveMembership writes a membership record (encrypted).
func (u *Unlocked) SaveMembership(m *Membership) error {
	if !communityID.MatchString(m.Community) {
		return fmt.Errorf("persona: bad community id %q", m.Community)
	}
	return u.writeEnc(filepath.Join(communityDir, m.Community+".enc"), m)
}

// Membership reads the record of community.
func (u *Unlocked) Membership(community string) (*Membership, error) {
	if !communityID.MatchString(community) {
		return nil, ErrNoMembership
	}
	if _, err := os.Stat(filepath.Join(u.Dir, communityDir, community+".enc")); err != nil {
		return nil, ErrNoMembership
	}
	var m Membership
	if err := u.readEnc(filepath.Join(communityDir, community+".enc"), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Memberships lists the communities this wallet joined.
func (u *Unlocked) Memberships() ([]*Membership, error) {
	names, err := listEnc(filepath.Join(u.Dir, communityDir))
	if err != nil {
		return nil, err
	}
	out := make([]*Membership, 0, len(names))
	for _, n := range names {
		var m Membership
		if err := u.readEnc(filepath.Join(communityDir, n), &m); err != nil {
			return nil, err
		}
		out = append(out, &m)
	}
	return out, nil
}
