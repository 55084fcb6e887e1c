import Foundation

extension KconfigFile {
    /// Every line `parse` would refuse, in file order, where `parse` stops at the first: the same line parser, so
    /// `bspgen validate` reports what a build would, all at once.
    public static func problems(text: String, name: String) -> [KconfigError] {
        var problems: [KconfigError] = []
        for (offset, line) in lines(of: text).enumerated() {
            do {
                _ = try OptionLine(parsing: line, origin: KconfigOrigin(file: name, line: offset + 1))
            } catch {
                problems.append(error)
            }
        }
        return problems
    }

    /// `problems(text:name:)` of a file read as `load` reads it; a file that cannot be read is one problem.
    public static func problems(of url: URL, name: String? = nil) -> [KconfigError] {
        do {
            return problems(text: try readText(of: url), name: name ?? url.path)
        } catch {
            return [error]
        }
    }
}
