package persona

// EncodeRevocationFile lets the external tests write cache files.
var EncodeRevocationFile = encodeRevocationFile
