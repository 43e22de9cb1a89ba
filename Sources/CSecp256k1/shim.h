// libsecp256k1 0.2.0 from Debian, with the modules TwinLedger uses.
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_recovery.h>
