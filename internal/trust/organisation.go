package trust

import (
	"fmt"

	"github.com/mustard-id/mustard/zk"
)

// MaxOrgLength bounds an organisation identifier (and a provider id used
// as one), in bytes.
const MaxOrgLength = 256

// Organisation is the organisation that holds the provider key: Org, or
// the provider id when Org is empty.
func (p *Provider) Organisation() string {
	if p.Org != "" {
		return p.Org
	}
	return p.ID
}

// checkOrganisations refuses a document in which one key belongs to two
// organisations (one signature would then count for both in a k-of-n
// proof) or an organisation identifier is empty or too long.
func (d *Document) checkOrganisations() error {
	owner := map[string]string{}
	for i := range d.Providers {
		p := &d.Providers[i]
		org := p.Organisation()
		if org == "" || len(org) > MaxOrgLength {
			return fmt.Errorf("%w: provider %d: organisation identifier must be 1 to %d bytes", ErrMalformed, i, MaxOrgLength)
		}
		if o, ok := owner[p.Key]; ok && o != org {
			return fmt.Errorf("%w: one provider key under two organisations", ErrMalformed)
		}
		owner[p.Key] = org
	}
	return nil
}

// OrgRegistry builds the k-of-n profile's organisation registry: the leaf
// of provider i is zk.ProviderOrgLeaf of its key, maximum grade, validity
// and zk.OrgID(Organisation()), at the same index as in Registry. Its root
// follows from the signed providers, as Registry's does; the map gives each
// provider key's leaf index.
func (d *Document) OrgRegistry() (*zk.Tree, map[string]uint64, error) {
	if err := d.checkOrganisations(); err != nil {
		return nil, nil, err
	}
	t := zk.NewTree(RegistryDepth)
	idx := map[string]uint64{}
	for i := range d.Providers {
		p := &d.Providers[i]
		pk, grade, err := p.parse()
		if err != nil {
			return nil, nil, err
		}
		n, err := t.Append(zk.ProviderOrgLeaf(pk, grade, p.ValidUntil, zk.OrgID(p.Organisation())))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		idx[p.Key] = n
	}
	return t, idx, nil
}
