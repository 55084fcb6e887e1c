import Foundation
import Testing

/// Mutations of `Fixtures.tiny` worth keeping: inputs that crashed or got past validation before the fix
/// they are named after, each distinct error the fuzzer reached, and mutated trees that are still valid.
/// Embedded as base64 because the test target declares no resources.
enum FuzzCorpus {
    struct Entry: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var base64: String
        /// A fragment of the error message opening must give; nil when the input is a valid tree.
        var expectedError: String?

        var bytes: [UInt8]? { Data(base64Encoded: base64).map(Array.init) }
    }

    static let entries: [Entry] = [
        Entry(testDescription: "crashed libfdt: v15 header, so fdt_check_full dereferenced a null root name",
              base64: "0A3+7QAAALoAAABIAAAApAAAACgAAAAPAAAAAgAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA" +
                      "AAAAAQAAAAAAAAADAAAABAAAAABhAGIAAAAAAwAAAAAAAAALAAAAAW5vZGVAMQAAAAAAAwAAAAQAAAAQAAAAAQAAAAMAAAAD" +
                      "AAAAFAECAwAAAAACAAAAAgAAAAljb21wYXRpYmxlAGZsYWcAcmVnAHgA",
              expectedError: "version 15 is older than 16"),
        Entry(testDescription: "crashed: property length -1 passed fdt_check_full and reached a buffer count",
              base64: "0A3+7QAAALoAAABIAAAApAAAACgAAAARAAAAEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA" +
                      "AAAAAQAAAAAAAAADAAAABAAAAABhAGIAAAAAA/////8AAAALAAAAAW5vZGVAMQAAAAAAAwAAAAQAAAAQAAAAAQAAAAMAAAAD" +
                      "AAAAFAECAwAAAAACAAAAAgAAAAljb21wYXRpYmxlAGZsYWcAcmVnAHgA",
              expectedError: "has invalid length -1"),
        Entry(testDescription: "passed validation, failed reading: structure block of only FDT_END",
              base64: "0A3+7QAAALoAAABIAAAApAAAACgAAAARAAAAEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA" +
                      "AAAACQAAAAAAAAADAAAABAAAAABhAGIAAAAAAwAAAAAAAAALAAAAAW5vZGVAMQAAAAAAAwAAAAQAAAAQAAAAAQAAAAMAAAAD" +
                      "AAAAFAECAwAAAAACAAAAAgAAAAljb21wYXRpYmxlAGZsYWcAcmVnAHgA",
              expectedError: "does not start with the root node"),
        Entry(testDescription: "failed with NOSPACE: reservation block running on into the structure block",
              base64: "0A3+7QAAALoAAABIAAAApAAAACgAAAARAAAAEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAACAAAAAAAA" +
                      "AAAAAQAAAAAAAAADAAAABAAAAABhAGIAAAAAAwAAAAAAAAALAAAAAW5vZGVAMQAAAAAAAwAAAAQAAAAQAAAAAQAAAAMAAAAD" +
                      "AAAAFAECAwAAAAACAAAAAgAAAAljb21wYXRpYmxlJQAAAAAAAAAAAABmbGFnAHJlZwB4AA==",
              // Once opened (libfdt laid it out again); blocks that share bytes are now refused (issue 21).
              expectedError: "the memory reservation block (offset 40, 144 bytes) and the structure block (offset 72, 92 bytes) overlap"),
        Entry(testDescription: "hang: a property of length -12 steps back onto its own tag (libfdt 1.6.1's fdt_check_full loops; scripts/fuzz.sh)",
              base64: "0A3+7QAAAScAAAA4AAAA6AAAACgAAAARAAAAEAAAAAAAAAA/AAAAsAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAMAAAAM" +
                      "AAAAAGJzcGdlbixmdXp6AAAAAAP////0AAAAFAAAAAsAAAABAAAAAwAAAAQAAAAaAAAAAQAAAAFjaG9zZW4AAAAAAAMAAAAO" +
                      "AAAAJmNvDABvbGU9DAAAUzAAAAAAAADc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc" +
                      "3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc" +
                      "3Nzc3AIAAABpemUtY2WUk40AAAAAAAAAAAAAAFlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWQAAAAAAAAKdAAAAAAAAAAcAAAAA" +
                      "AAAAAAAAAAEAAAAAAAAAAwAAAAwAAgAAAAIAAAAJY29zLWNlbGxzAP//////////////CWNvbXBhfGlibGUAbw==",
              expectedError: "invalid length -12"),
        Entry(testDescription: "bad magic",
              base64: "gAAAAAAAALo=",
              expectedError: "FDT_ERR_BADMAGIC: magic is"),
        Entry(testDescription: "property name outside the strings block",
              base64: "0A3+7QAAALoAAABIAAAApAAAACgAAAARAAAAEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA" +
                      "AAAAAQAAAAAAAAADAAAABAAAAABhAGIAAAAAAwAAAAAAAAALAAAAAW5vZGVAMQAAAAAAAwAAAAQAAAAQAAAACQAAAAMAAAAD" +
                      "gAAAAAECAwAAAAACAAAAAgAAAAljb21wYXRpYmxlAGZsYWcAcmVnAHgA",
              expectedError: "FDT_ERR_BADOFFSET"),
        Entry(testDescription: "corrupt structure block",
              base64: "0A3+7QAAALoAAABIAAAApAAAACgAAAARAAAAEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA" +
                      "AgAAAQAAAAAAAAADAAAABAAAAABhAGIAAAAAAwAAAAAAAAALAAAAAW5vZGVAMQAAAAAAAwAAAAQAAAAQAAAAAQAAAAMAAAAD" +
                      "AAAAFAECAwAAAAACAAAAAgAAAAljb21wYXRpYmxlAGZsYWcAcmVnAHgA",
              expectedError: "FDT_ERR_BADSTRUCTURE: corrupt structure block"),
        Entry(testDescription: "last compatible version too new",
              base64: "0A3+7QAAALoAAABIAAAApAAAACgAAAARAAD5EAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA" +
                      "AAAAAQAAAAAAAAADAAAABAAAAABhAGIAAAAAAwAAAAAAAAALAAAAAW5vZGVAMQAAAAAAAwAAAAQAAAAQAAAAAQAAAAMAAAAD" +
                      "AAAAFAECAwAAAAACAAAAAgAAAAljb21wYXRpYmxlAGZsYWcAcmVnAHgA",
              expectedError: "FDT_ERR_BADVERSION: unsupported"),
        Entry(testDescription: "empty input",
              base64: "",
              expectedError: "too short for a device tree header"),
        Entry(testDescription: "totalsize smaller than a header",
              base64: "0A3+7QAAAAkA",
              expectedError: "is smaller than the 40-byte header"),
        Entry(testDescription: "totalsize beyond the data",
              base64: "0A3+7QAAABA=",
              expectedError: "bytes are present"),
        Entry(testDescription: "reservation block outside the tree",
              base64: "0A3+7QAAALoAAABIAAAApAAAALoAAAARAAAAEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA" +
                      "AAAAAQAAAAAAAAADAAAABAAAAABhAGIAAAAAAwAAAAAAAAALAAAAAW5vZGVAMQAAAAAAAwAAAAQAAAAQAAAAAQAAAAMAAAAD" +
                      "AAAAFAECAwAAAAACAAAAAgAAAAljb21wYXRpYmxlAGZsYWcAcmVnAHgA",
              expectedError: "memory reservation block at offset"),
        Entry(testDescription: "strings block outside the tree",
              base64: "0A3+7QAAACgAAAARAAAAEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAAAkAAAAAAAAAAQ==",
              expectedError: "strings block at offset"),
        Entry(testDescription: "structure block outside the tree",
              base64: "0A3+7QAAADwAAABIAAAApAAAACgAAAARAADlEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAA==",
              expectedError: "structure block at offset"),
        Entry(testDescription: "tag runs past the structure block",
              base64: "0A3+7QAAALoAAABIAAAApAAAACgAAAARAAAAEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAIAAAAAAA" +
                      "AAAAAQAAAAAAAAADAAAABAAAAABhAGIAAAAAAwAAAAAAAAALAAAAAW5vZGVAMQAAAAAAAwAAAAQAAAAQAAAAAQAAAAMAAEAD" +
                      "AAAAFAECAwAAAAACvvYCpAAAAAljb21wYXRpYmxlAGZsYWcAcmVnAHgA",
              expectedError: "FDT_ERR_TRUNCATED: the data ends before the tree does"),
        Entry(testDescription: "valid after mutation 1",
              base64: "0A3+7QAAALoAAABIAAAApAAAACgAAAARAAAAEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA" +
                      "AAAAAQAAAAAAAAADAAAABAAAAABhAGIAAAAAAwAAAAAAAAALAAAAAQPcqapAMQAAAAAAAwAAAAQAAAAQAAAAAQAAAAMAAAAD" +
                      "AAAAFAECAwAAAAACAAAAAgAAAAljb21wYXRpYmxlAGZsYWcAcmVnAHgA",
              expectedError: nil),
        Entry(testDescription: "valid after mutation 2",
              base64: "0A3+7QAAALoAAABIAAAApAAAACgAAAARAAAAEAAAAAAAAAAWAAAAXAAAAAAAABAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAA" +
                      "AAAAAQAAAAAAAAADAAAABAAAAABhAGIAAAAAAwAAAAAAAAALAAAAAW7rZGVAMQAAAAAAAwAAAAQAAAAQAAAAAQAAAAMAAAAD" +
                      "AAAAFAECAwAAAAACAAAAAgAAAAljb21wYXRpYmxlAGZsYWcAcmVnAHgA",
              expectedError: nil),
    ]
}
