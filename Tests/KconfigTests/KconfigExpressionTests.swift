import Testing
@testable import Kconfig

struct KconfigExpressionTests {
    static let config: [String: KconfigValue] = [
        "Y": .tristate(.yes), "M": .tristate(.module), "N": .tristate(.no),
        "STR": .string("hello"), "EMPTY": .string(""),
        "VERSION": .number("110200"), "ADDR": .number("0x1000"),
    ]

    @Test(arguments: [
        ("Y", Tristate.yes), ("M", .module), ("N", .no), ("ABSENT", .no),
        ("y", .yes), ("m", .module), ("n", .no),
        ("!Y", .no), ("!M", .module), ("!N", .yes), ("!ABSENT", .yes),
        ("Y && M", .module), ("M && N", .no), ("Y && Y", .yes),
        ("N || M", .module), ("M || Y", .yes), ("N || ABSENT", .no),
        ("Y && (N || M)", .module), ("(Y && N) || M", .module), ("!(Y && M)", .module),
        ("N || Y && M", .module), ("!N && !ABSENT", .yes),
        ("Y=y", .yes), ("M=y", .no), ("M = m", .yes), ("N=n", .yes), ("Y != y", .no), ("M!=y", .yes),
        ("STR = \"hello\"", .yes), ("STR != 'hello'", .no), ("EMPTY = \"\"", .yes), ("EMPTY != \"\"", .no),
        ("VERSION >= 110200", .yes), ("VERSION > 110200", .no), ("VERSION < 90100", .no), ("VERSION <= 200000", .yes),
        ("ADDR > 0xfff", .yes), ("ADDR = 0x1000", .yes),
        ("!Y = y", .no), ("M || M=n", .module),
        ("$(cc-option,-march=z10)", .yes), ("Y # trailing comment", .yes),
    ])
    func evaluates(expression: String, expected: Tristate) throws {
        let parsed = try #require(KconfigExpression(parsing: expression))
        #expect(parsed.value(in: Self.config) == expected)
    }

    @Test(arguments: ["", "A &&", "(A", "A)", "A & B", "A B", "&& A", "A = ", "\"open", "A || || B", "$(open"])
    func rejectsMalformed(expression: String) {
        #expect(KconfigExpression(parsing: expression) == nil)
    }

    @Test func printsWithMinimalParentheses() throws {
        let cases = [
            "A && (B || C)": "A && (B || C)",
            "(A && B) || C": "A && B || C",
            "!(A || B) && !C": "!(A || B) && !C",
            "!A=y": "!(A=y)",
            "X >= 10 && S = \"a\\\"b\"": "X >= 10 && S=\"a\\\"b\"",
        ]
        for (input, printed) in cases {
            #expect(try #require(KconfigExpression(parsing: input)).description == printed)
        }
    }

    @Test func unmetTermsNameTheFailingLeaves() throws {
        func unmet(_ text: String, below required: Tristate = .module) throws -> [String] {
            try #require(KconfigExpression(parsing: text)).unmetTerms(below: required, in: Self.config)
        }
        #expect(try unmet("Y && N && ABSENT") == ["N is n", "ABSENT is n"])
        #expect(try unmet("N || ABSENT") == ["N is n", "ABSENT is n"])
        #expect(try unmet("Y && (N || !Y)") == ["N is n", "Y is y"])
        #expect(try unmet("M=y && VERSION >= 120000") == ["M is m", "VERSION is 110200"])
        #expect(try unmet("Y && M", below: .yes) == ["M is m"])
        #expect(try unmet("Y && M") == [])
        #expect(try unmet("STR = \"bye\"") == ["STR is \"hello\""])
        #expect(try unmet("!(Y && Y)") == ["!(Y && Y) is false"])
    }
}
