/// BLS12-381's G2 curve: y² = x³ + 4(1 + u) over F_p² (the sextic twist of G1's curve).
public enum G2Curve: CurveParameters {
    public static let b = Fp2(Fp(4), Fp(4))
    public static let b3 = Fp2(Fp(12), Fp(12))
    /// (x0 + x1·u)·12(1 + u) = 12(x0 − x1) + 12(x0 + x1)·u.
    @inlinable
    public static func timesB3(_ x: Fp2) -> Fp2 { Fp2(G1Curve.timesB3(x.c0 - x.c1), G1Curve.timesB3(x.c0 + x.c1)) }
    public static let generatorX = Fp2(
        Fp(hexConstant: "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"),
        Fp(hexConstant: "13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"))
    public static let generatorY = Fp2(
        Fp(hexConstant: "0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801"),
        Fp(hexConstant: "0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be"))
}

/// A point of G2 (projective).
public typealias G2Point = ProjectivePoint<G2Curve>

extension ProjectivePoint where Curve == G2Curve {
    /// ξ^(−(p−1)/3) and ξ^(−(p−1)/2), ξ = 1 + u: the constants of ψ.
    static let psiCoefficients: (x: Fp2, y: Fp2) = {
        let third: [UInt64] = [0x9354_ffff_ffff_e38e, 0x0a39_5554_e5c6_aaaa, 0xcd10_4635_a790_520c,
                               0xcc27_c3d6_fbd7_063f, 0x1909_37e7_6bc3_e447, 0x08ab_05f8_bdd5_4cde]  // (p − 1)/3
        let xi = Fp2(.one, .one)
        return (xi.pow(third).inverse ?? .one, xi.pow(Fp.legendreExponent).inverse ?? .one)
    }()

    /// ψ = untwist, p-power Frobenius, twist: ψ(x, y) = (x̄·ξ^(−(p−1)/3), ȳ·ξ^(−(p−1)/2)) (the bar is F_p²'s
    /// conjugation), on projective coordinates with Z conjugated too. On G2 it acts as multiplication by p ≡ x (mod r).
    public var endomorphism: G2Point {
        let c = G2Point.psiCoefficients
        return G2Point(x: x.conjugate * c.x, y: y.conjugate * c.y, z: z.conjugate)
    }

}

extension G2Curve {
    /// Membership in G2 by Scott's test (ePrint 2021/1130): Q is in G2 exactly when ψ(Q) = x·Q = −|x|·Q, one 64-bit
    /// multiplication instead of a 255-bit one. Tested to agree with `isInSubgroupByDefinition`.
    public static func isInSubgroup(_ point: G2Point) -> Bool { (point.timesAbsoluteX + point.endomorphism).isIdentity }
}
