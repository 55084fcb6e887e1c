/// "Did you mean" support: the closest candidates by edit distance, if any is close enough to be a likely typo.
public enum Suggestion {
    public static func closest(to word: String, among candidates: some Sequence<String>) -> String? {
        let limit = max(2, word.count / 3)
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            // The distance is at least the difference in length: a long value (a megabyte pasted by mistake) is
            // not compared at all.
            guard abs(candidate.count - word.count) <= limit else { continue }
            let distance = editDistance(word.lowercased(), candidate.lowercased())
            if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
    }

    public static func didYouMean(_ word: String, among candidates: some Sequence<String>) -> String? {
        closest(to: word, among: candidates).map { "did you mean '\($0)'?" }
    }

    /// Up to `count` candidates close to `word`, closest first: by edit distance within the typo limit, or
    /// sharing its last path component (the same file in another folder).
    public static func closestMatches(to word: String, among candidates: some Sequence<String>, count: Int) -> [String] {
        let limit = max(2, word.count / 3)
        let lastComponent = word.split(separator: "/").last.map(String.init)?.lowercased()
        let scored = candidates.compactMap { candidate -> (String, Int)? in
            let distance = abs(candidate.count - word.count) <= limit ? editDistance(word.lowercased(), candidate.lowercased()) : limit + 1
            if distance <= limit { return (candidate, distance) }
            if let lastComponent, candidate.split(separator: "/").last.map(String.init)?.lowercased() == lastComponent { return (candidate, limit + 1) }
            return nil
        }
        return scored.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(count).map(\.0)
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }
}
