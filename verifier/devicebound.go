package verifier

// deviceBoundVK reports whether a credential's persona_proof_vk names
// the device-bound circuit's verifying key this verifier trusts
// (Config.DeviceBoundZK). The key id is public: a plain comparison.
func (v *Verifier) deviceBoundVK(vk any) bool {
	s, ok := vk.(string)
	return ok && s != "" && v.cfg.DeviceBoundZK != nil && s == v.cfg.DeviceBoundZK.VKID
}
