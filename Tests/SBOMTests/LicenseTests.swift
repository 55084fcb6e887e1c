import Foundation
import SBOM
import Testing

@Suite struct LicenseExpressionTests {
    @Test func andBindsMoreTightlyThanOrAndWithMoreThanAnd() throws {
        let expression = try LicenseExpression.parse("MIT OR Apache-2.0 AND GPL-2.0-only WITH Linux-syscall-note")
        #expect(expression == .or([.license("MIT"), .and([.license("Apache-2.0"), .with("GPL-2.0-only", exception: "Linux-syscall-note")])]))
        #expect(try LicenseExpression.parse("(MIT OR BSD-2-Clause) AND ISC")
                == .and([.or([.license("MIT"), .license("BSD-2-Clause")]), .license("ISC")]))
    }

    @Test func deprecatedGNUIdentifiersAreRenamed() throws {
        #expect(try LicenseExpression.parse("GPL-2.0").normalized.description == "GPL-2.0-only")
        #expect(try LicenseExpression.parse("GPL-2.0+ or mit").normalized.description == "GPL-2.0-or-later OR mit")
        #expect(try LicenseExpression.parse("LGPL-2.1+ WITH Linux-syscall-note").normalized.description == "LGPL-2.1-or-later WITH Linux-syscall-note")
        #expect(try LicenseExpression.parse("eCos-2.0").normalized.description == "GPL-2.0-or-later WITH eCos-exception-2.0")
        // Not a GNU family: the + stays, as SPDX's "or later" operator.
        #expect(try LicenseExpression.parse("MPL-1.1+").normalized.description == "MPL-1.1+")
    }

    @Test func conjunctionKeepsEveryTermOnceAndDropsChoicesAlreadyRequired() throws {
        let files = try ["GPL-2.0", "GPL-2.0-only", "GPL-2.0+ OR BSD-3-Clause", "GPL-2.0 OR MIT", "(GPL-2.0-only OR MIT)", "ISC"]
            .map { try LicenseExpression.parse($0) }
        let concluded = try #require(LicenseExpression.conjunction(files))
        // (GPL-2.0-only OR MIT) is absorbed by GPL-2.0-only; the BSD choice is not, since nothing requires GPL-2.0-or-later.
        #expect(concluded.description == "GPL-2.0-only AND ISC AND (BSD-3-Clause OR GPL-2.0-or-later)")
        #expect(concluded.licenseIdentifiers == ["BSD-3-Clause", "GPL-2.0-only", "GPL-2.0-or-later", "ISC"])
        #expect(LicenseExpression.conjunction([]) == nil)
    }

    @Test func malformedExpressionsSayWhatIsWrong() {
        #expect(throws: LicenseExpressionError.self) { try LicenseExpression.parse("GPL-2.0 AND") }
        #expect(throws: LicenseExpressionError.self) { try LicenseExpression.parse("(MIT OR ISC") }
        #expect(throws: LicenseExpressionError.self) { try LicenseExpression.parse("MIT WITH") }
        do {
            _ = try LicenseExpression.parse("GPL-2.0 MIT")
            Issue.record("two identifiers without an operator were accepted")
        } catch {
            #expect(error.message.contains("'MIT'"))
        }
    }
}

@Suite struct LicenseScannerTests {
    @Test func identifiersInEveryCommentStyle() {
        let cases: [(String, String?)] = [
            ("// SPDX-License-Identifier: GPL-2.0\n#include <x.h>\n", "GPL-2.0-only"),
            ("/* SPDX-License-Identifier: GPL-2.0 OR MIT */\n", "GPL-2.0-only OR MIT"),
            ("#!/bin/sh\n# SPDX-License-Identifier: GPL-2.0+\n", "GPL-2.0-or-later"),
            ("<!-- SPDX-License-Identifier: BSD-2-Clause -->\n", "BSD-2-Clause"),
            ("/*\n * no identifier here\n */\n", nil),
        ]
        for (text, expected) in cases {
            #expect(LicenseScanner.scan(head: Data(text.utf8)).expression?.description == expected, "\(text)")
        }
    }

    @Test func anUnreadableIdentifierIsKeptAsWrittenWithItsProblem() {
        let license = LicenseScanner.scan(head: Data("// SPDX-License-Identifier: GPL-2.0 AND AND MIT\n".utf8))
        #expect(license.written == "GPL-2.0 AND AND MIT")
        #expect(license.expression == nil)
        #expect(license.problem != nil)
        #expect(license.listed == "NOASSERTION")
    }

    @Test func readsFilesFromDisk() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("scan-\(UUID().uuidString).c")
        try "// SPDX-License-Identifier: LGPL-2.1\nint x;\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(LicenseScanner.scan(url).expression?.description == "LGPL-2.1-only")
        #expect(LicenseScanner.scan(url.appendingPathExtension("missing")) == .none)
    }
}
