/// BLS12-381's G2 curve: y² = x³ + 4(1 + u) over F_p² (the sextic twist of G1's curve).
public enum G2Curve: CurveParameters {
    public static let b = Fp2(Fp(4), Fp(4))
    public static let b3 = Fp2(Fp(12), Fp(12))
    public static let generatorX = Fp2(
        (try? Fp(bytes: hexBytes(
            "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"))) ?? .zero,
        (try? Fp(bytes: hexBytes(
            "13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"))) ?? .zero)
    public static let generatorY = Fp2(
        (try? Fp(bytes: hexBytes(
            "0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801"))) ?? .zero,
        (try? Fp(bytes: hexBytes(
            "0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be"))) ?? .zero)
}

/// A point of G2 (projective).
public typealias G2Point = ProjectivePoint<G2Curve>
