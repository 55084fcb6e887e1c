import Foundation
import SBOM
import Testing

@Suite struct KbuildRecordTests {
    @Test func kernelRecordsHaveSourceAndDependenciesWithoutKconfigWildcards() throws {
        let text = """
            cmd_drivers/char/mem.o := gcc -Wp,-MMD,drivers/char/.mem.o.d -nostdinc -c -o drivers/char/mem.o /src/drivers/char/mem.c

            source_drivers/char/mem.o := /src/drivers/char/mem.c

            deps_drivers/char/mem.o := \\
              /src/include/linux/kconfig.h \\
                $(wildcard include/config/CPU_BIG_ENDIAN) \\
              include/generated/autoconf.h \\
              /src/include/linux/mm.h \\

            drivers/char/mem.o: $(deps_drivers/char/mem.o)

            $(deps_drivers/char/mem.o):
            """
        let record = try #require(KbuildRecord.parse(Data(text.utf8)))
        #expect(record.target == "drivers/char/mem.o")
        #expect(record.source == "/src/drivers/char/mem.c")
        #expect(record.compiledSource == "/src/drivers/char/mem.c")
        #expect(record.dependencies == ["/src/include/linux/kconfig.h", "include/generated/autoconf.h", "/src/include/linux/mm.h"])
        #expect(record.command.hasPrefix("gcc -Wp,-MMD"))
    }

    /// Linux 6.3 and later (6.12 here) write `savedcmd_` for the command line.
    @Test func newerKernelsSavedCommandIsRead() throws {
        let text = "savedcmd_vmlinux.o := riscv64-linux-gnu-ld -melf64lriscv -r -o vmlinux.o --whole-archive vmlinux.a --no-whole-archive\n"
        let record = try #require(KbuildRecord.parse(Data(text.utf8)))
        #expect(record.target == "vmlinux.o")
        #expect(record.command.hasPrefix("riscv64-linux-gnu-ld -melf64lriscv"))
    }

    @Test func busyboxRecordsNameTheSourceFirstAmongTheDependencies() throws {
        let text = """
            cmd_coreutils/cat.o := aarch64-linux-gnu-gcc -c -o coreutils/cat.o /bb/coreutils/cat.c

            deps_coreutils/cat.o := \\
              /bb/coreutils/cat.c \\
              /usr/aarch64-linux-gnu/include/stdio.h \\
              $(wildcard include/config/feature/catv.h) \\

            coreutils/cat.o: $(deps_coreutils/cat.o)
            """
        let record = try #require(KbuildRecord.parse(Data(text.utf8)))
        #expect(record.source == nil)
        #expect(record.compiledSource == "/bb/coreutils/cat.c")
        #expect(record.dependencies == ["/bb/coreutils/cat.c", "/usr/aarch64-linux-gnu/include/stdio.h"])
        #expect(KbuildRecord.parse(Data("no record here\n".utf8)) == nil)
    }

    @Test func recordPaths() {
        #expect(KbuildRecord.recordPath(of: "vmlinux") == ".vmlinux.cmd")
        #expect(KbuildRecord.recordPath(of: "arch/x86/boot/bzImage") == "arch/x86/boot/.bzImage.cmd")
    }

    @Test func shellWordsMarkProgramsAndOutputs() {
        let words = ShellWords.split("rm -f a.a; ar cDPrsT a.a x.o 'y z.o' && { cat in.bin | xz > out.xz; }")
        #expect(words.filter(\.isProgram).map(\.text) == ["rm", "ar", "cat", "xz"])
        #expect(words.filter(\.isOutput).map(\.text) == ["out.xz"])
        #expect(words.map(\.text).contains("y z.o"))
    }

    @Test func thinArchiveMembersWithShortAndLongNames() throws {
        func header(_ name: String, size: Int) -> String {
            name.padding(toLength: 16, withPad: " ", startingAt: 0) + "0".padding(toLength: 12, withPad: " ", startingAt: 0)
                + "0".padding(toLength: 6, withPad: " ", startingAt: 0) + "0".padding(toLength: 6, withPad: " ", startingAt: 0)
                + "644".padding(toLength: 8, withPad: " ", startingAt: 0) + String(size).padding(toLength: 10, withPad: " ", startingAt: 0) + "`\n"
        }
        let names = "arch/x86/kernel/head_64.o/\nlib/a-rather-long-name.o/\n"
        // ar pads every member's data to an even length with a newline.
        var text = "!<thin>\n" + header("/", size: 4) + "\0\0\0\0" + header("//", size: names.utf8.count) + names
            + (names.utf8.count % 2 == 1 ? "\n" : "")
        text += header("/0", size: 1000) + header("/27", size: 2000) + header("init.o/", size: 30)
        #expect(ThinArchive.members(Data(text.utf8)) == ["arch/x86/kernel/head_64.o", "lib/a-rather-long-name.o", "init.o"])
        #expect(ThinArchive.members(Data("!<arch>\n".utf8)) == nil)
    }

    @Test func linkerMapsAndTraces() {
        let map = """
            Archive member included to satisfy reference by file (symbol)

            libbb/lib.a(appletlib.o)      /usr/lib/x/crt1.o (main)
            libbb/lib.a(llist.o)          libbb/lib.a(appletlib.o) (llist_free)
            /usr/lib/x/libc.a(printf.o)
                                          libbb/lib.a(appletlib.o) (printf)

            Discarded input sections

            Linker script and memory map

            LOAD /usr/lib/x/crt1.o
            LOAD applets/built-in.o
            LOAD libbb/lib.a
            LOAD /usr/lib/x/libc.a
            """
        let inputs = LinkInputs.fromMap(map)
        #expect(inputs.objects == ["/usr/lib/x/crt1.o", "applets/built-in.o"])
        #expect(inputs.members.map { "\($0.archive)(\($0.member))" } == ["libbb/lib.a(appletlib.o)", "libbb/lib.a(llist.o)", "/usr/lib/x/libc.a(printf.o)"])

        let trace = """
            vmlinux.a
            init/main.o
            lib/lib.a
            lib/ctype.o
            (/usr/lib/gcc/libgcc.a)_udivsi3.o
            x86_64-linux-gnu-ld: warning: lib/x.o: missing .note.GNU-stack section implies executable stack
            """
        let traced = LinkInputs.fromTrace(trace)
        #expect(traced.objects == ["init/main.o", "lib/ctype.o"])
        #expect(traced.members.map { "\($0.archive)(\($0.member))" } == ["/usr/lib/gcc/libgcc.a(_udivsi3.o)"])
    }
}

/// A small build folder written to disk the way Kbuild leaves one, walked from its image.
@Suite struct KbuildWalkTests {
    @Test func fromTheImageDownToEverySourceAndHeader() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kbuild-walk-\(UUID().uuidString)", isDirectory: true)
        let build = root.appendingPathComponent("build")
        let source = root.appendingPathComponent("src")
        defer { try? FileManager.default.removeItem(at: root) }
        func write(_ path: String, in folder: URL, _ text: String = "x") throws {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        func record(_ target: String, _ text: String) throws { try write(KbuildRecord.recordPath(of: target), in: build, text) }
        let src = source.path
        for file in ["init/main.c", "include/a.h", "drivers/on.c", "drivers/off.c", "arch/boot/head.S", "arch/boot/setup.ld"] { try write(file, in: source) }
        for file in ["arch/boot/Image", "arch/boot/Image.bin", "vmlinux", "init/main.o", "drivers/on.o", "drivers/off.o", "arch/boot/head.o",
                     "arch/boot/piggy.S", "arch/boot/piggy.o", "arch/boot/tools/build", "include/generated/autoconf.h"] { try write(file, in: build) }
        try record("arch/boot/Image", "cmd_arch/boot/Image := arch/boot/tools/build arch/boot/Image.bin arch/boot/Image\n")
        try record("arch/boot/Image.bin", "cmd_arch/boot/Image.bin := ld -T \(src)/arch/boot/setup.ld -o arch/boot/Image.bin arch/boot/head.o arch/boot/piggy.o\n")
        try record("arch/boot/head.o", "cmd_arch/boot/head.o := gcc -c\n\nsource_arch/boot/head.o := \(src)/arch/boot/head.S\n\ndeps_arch/boot/head.o := \\\n  \(src)/include/a.h \\\n\n")
        try record("arch/boot/piggy.o", "cmd_arch/boot/piggy.o := gcc -c\n\nsource_arch/boot/piggy.o := arch/boot/piggy.S\n\ndeps_arch/boot/piggy.o := \\\n\n")
        try record("arch/boot/piggy.S", "cmd_arch/boot/piggy.S := sh \(src)/mkpiggy.sh vmlinux > arch/boot/piggy.S\n")
        try record("init/main.o", "cmd_init/main.o := gcc -c\n\nsource_init/main.o := \(src)/init/main.c\n\ndeps_init/main.o := \\\n  \(src)/include/a.h \\\n  include/generated/autoconf.h \\\n\n")
        try record("drivers/on.o", "cmd_drivers/on.o := gcc -c\n\nsource_drivers/on.o := \(src)/drivers/on.c\n\ndeps_drivers/on.o := \\\n\n")
        try record("drivers/off.o", "cmd_drivers/off.o := gcc -c\n\nsource_drivers/off.o := \(src)/drivers/off.c\n\ndeps_drivers/off.o := \\\n\n")
        // vmlinux's inputs come from the linker: drivers/off.o was compiled but not linked.
        let link = LinkInputs(objects: ["init/main.o", "drivers/on.o"], members: [(archive: "/usr/lib/gcc/libgcc.a", member: "_udivsi3.o")])
        let result = KbuildWalk(buildRoot: build, linkInputs: ["vmlinux": link]).walk(["arch/boot/Image"])
        #expect(result.compiled == Set(["init/main.c", "drivers/on.c", "arch/boot/head.S"].map { "\(src)/\($0)" } + [build.standardizedFileURL.path + "/arch/boot/piggy.S"]))
        #expect(result.read == Set(["\(src)/include/a.h", "\(src)/arch/boot/setup.ld", build.standardizedFileURL.path + "/include/generated/autoconf.h"]))
        #expect(result.outside == [KbuildWalk.OutsideInput(file: "/usr/lib/gcc/libgcc.a", member: "_udivsi3.o")])
        #expect(!result.objects.contains("drivers/off.o"))

        let list = FileLicenseList(result, sourceRoot: source, buildRoot: build)
        #expect(list.entries.map(\.path).contains("drivers/on.c"))
        #expect(list.entries.first { $0.path == "include/generated/autoconf.h" }?.origin == .generated)
        #expect(list.compiledCount == 4)
    }
}

/// Loadable modules: `name.ko` ← `name.o` (`ld -r @name.mod`, the objects listed in a file) and `name.mod.o`; an
/// out-of-tree module built in a copy of its folder, where Kbuild also writes its generated files.
@Suite struct ModuleWalkTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kbuild-modules-\(UUID().uuidString)", isDirectory: true)

    func write(_ path: String, in folder: URL, _ text: String = "x") throws {
        let url = folder.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    func compiled(_ target: String, from source: String, in build: URL, deps: [String] = []) throws {
        try write(target, in: build)
        try write(KbuildRecord.recordPath(of: target), in: build, "cmd_\(target) := gcc -c -o \(target) \(source)\n\nsource_\(target) := \(source)\n\n"
                  + "deps_\(target) := \\\n" + deps.map { "  \($0) \\\n" }.joined() + "\n")
    }

    @Test func aModuleIsWalkedThroughItsObjectListFile() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let build = root.appendingPathComponent("build"), source = root.appendingPathComponent("src")
        let src = source.path
        for file in ["fs/x/a.c", "fs/x/b.c", "fs/x/unused.c", "include/x.h"] { try write(file, in: source, "// SPDX-License-Identifier: GPL-2.0\n") }
        try compiled("fs/x/a.o", from: "\(src)/fs/x/a.c", in: build, deps: ["\(src)/include/x.h"])
        try compiled("fs/x/b.o", from: "\(src)/fs/x/b.c", in: build)
        try compiled("fs/x/unused.o", from: "\(src)/fs/x/unused.c", in: build)
        try write("fs/x/x.mod.c", in: build, "generated")
        try compiled("fs/x/x.mod.o", from: "fs/x/x.mod.c", in: build)
        try write("fs/x/x.mod", in: build, "fs/x/a.o\nfs/x/b.o\n")
        try write("fs/x/x.o", in: build)
        try write(KbuildRecord.recordPath(of: "fs/x/x.o"), in: build, "cmd_fs/x/x.o := ld -r -o fs/x/x.o @fs/x/x.mod\n")
        try write("fs/x/x.ko", in: build)
        try write(KbuildRecord.recordPath(of: "fs/x/x.ko"), in: build,
                  "cmd_fs/x/x.ko := ld -r -T scripts/module.lds -o fs/x/x.ko fs/x/x.o fs/x/x.mod.o;  true\n")

        let result = KbuildWalk(buildRoot: build).walk(["fs/x/x.ko"])
        let built = build.standardizedFileURL.path
        #expect(result.compiled == ["\(src)/fs/x/a.c", "\(src)/fs/x/b.c", "\(built)/fs/x/x.mod.c"])
        #expect(result.read == ["\(src)/include/x.h"])
        #expect(!result.objects.contains("fs/x/unused.o"))

        let list = FileLicenseList(result, sourceRoot: source, buildRoot: build)
        let lists = ModuleFileLists([ModuleFileLists.Module(name: "kernel/fs/x/x.ko", files: list)])
        #expect(lists.tsv.split(separator: "\n").first == "# module\tpath\torigin\trole\tlicence\tspdx-license-identifier\tsha256")
        #expect(lists.tsv.contains("kernel/fs/x/x.ko\tfs/x/a.c\tsource\tcompiled\tGPL-2.0-only\tGPL-2.0\t"))
        #expect(lists.tsv.contains("kernel/fs/x/x.ko\tfs/x/x.mod.c\tgenerated\tcompiled\tNOASSERTION\t-\t-\n"))
        #expect(lists.compiledFiles.count == 3)
        #expect(lists.kernelEntries.count == 4)
    }

    @Test func anExternalModulesOwnFilesAreToldFromWhatKbuildWroteBesideThem() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let original = root.appendingPathComponent("boards/hello"), copy = root.appendingPathComponent("build/modules/external/hello")
        let source = root.appendingPathComponent("linux-src")
        try write("include/linux/module.h", in: source, "/* SPDX-License-Identifier: GPL-2.0 */\n")
        for folder in [original, copy] {
            try write("hello.c", in: folder, "// SPDX-License-Identifier: MIT\n")
            try write("Kbuild", in: folder, "obj-m += hello.o\n")
        }
        let absolute = copy.standardizedFileURL.path
        try compiled("hello.o", from: "\(absolute)/hello.c", in: copy, deps: ["\(source.path)/include/linux/module.h"])
        try write("hello.mod.c", in: copy, "generated")
        try compiled("hello.mod.o", from: "\(absolute)/hello.mod.c", in: copy)
        try write("hello.ko", in: copy)
        try write(KbuildRecord.recordPath(of: "hello.ko"), in: copy,
                  "cmd_\(absolute)/hello.ko := ld -r -T scripts/module.lds -o \(absolute)/hello.ko \(absolute)/hello.o \(absolute)/hello.mod.o\n")

        let list = FileLicenseList(KbuildWalk(buildRoot: copy).walk(["hello.ko"]), sourceRoot: source, buildRoot: copy)
            .attributing(copy: copy, original: original, name: "hello")
        let byPath = Dictionary(uniqueKeysWithValues: list.entries.map { ($0.path, $0) })
        #expect(byPath["hello.c"]?.origin == .external(folder: "hello"))
        #expect(byPath["hello.c"]?.license.listed == "MIT")
        #expect(byPath["hello.c"]?.sha256 == (try FileDigest.of(original.appendingPathComponent("hello.c"))).sha256)
        #expect(byPath["hello.mod.c"]?.origin == .generated)
        #expect(byPath["include/linux/module.h"]?.origin == .source)
        // The module's own file changed after the copy was built: no longer its own source.
        try write("hello.c", in: original, "// SPDX-License-Identifier: MIT\n// changed\n")
        let changed = FileLicenseList(KbuildWalk(buildRoot: copy).walk(["hello.ko"]), sourceRoot: source, buildRoot: copy)
            .attributing(copy: copy, original: original, name: "hello")
        #expect(changed.entries.first { $0.path == "hello.c" }?.origin == .generated)
    }
}

/// What the file lists stage keeps between builds: the lists as JSON, read back to the same lists (the same
/// licence lists, byte for byte), and the stamps that tell whether a file they were made from changed.
@Suite struct KeptFileListTests {
    @Test func listsReadBackFromJSONAreTheSameLists() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kept-lists-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let source = root.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        let headers = ["a.c": "// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note\n",
                       "b.c": "/* SPDX-License-Identifier: (GPL-2.0+ OR MIT) AND BSD-3-Clause */\n",
                       "c.c": "// SPDX-License-Identifier: not ( an expression\n", "d.c": "int d;\n"]
        for (name, text) in headers { try text.write(to: source.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        // One object compiled from a.c, having read the others and a host header.
        let build = root.appendingPathComponent("build")
        try FileManager.default.createDirectory(at: build, withIntermediateDirectories: true)
        let path = { (name: String) in source.appendingPathComponent(name).path }
        try ("cmd_x.o := gcc -c -o x.o \(path("a.c"))\n\nsource_x.o := \(path("a.c"))\n\ndeps_x.o := \\\n"
             + ["b.c", "c.c", "d.c"].map { "  \(path($0)) \\\n" }.joined() + "  /usr/include/stdio.h \\\n\n")
            .write(to: build.appendingPathComponent(KbuildRecord.recordPath(of: "x.o")), atomically: true, encoding: .utf8)
        try "x".write(to: build.appendingPathComponent("x.o"), atomically: true, encoding: .utf8)
        let result = KbuildWalk(buildRoot: build).walk(["x.o"])
        #expect(result.compiled.count == 1 && result.read.count == 4, "\(result)")
        let list = FileLicenseList(result, sourceRoot: source, buildRoot: build, owners: ["/usr/include/stdio.h": "libc6-dev"])
        let modules = ModuleFileLists([ModuleFileLists.Module(name: "extra/hello.ko", files: list)])
        #expect(list.entries.contains { $0.license.problem != nil } && list.entries.contains { $0.license.expression == nil })

        let decodedList = try JSONDecoder().decode(FileLicenseList.self, from: JSONEncoder().encode(list))
        let decodedModules = try JSONDecoder().decode(ModuleFileLists.self, from: JSONEncoder().encode(modules))
        #expect(decodedList == list && decodedList.tsv == list.tsv)
        #expect(decodedModules == modules && decodedModules.tsv == modules.tsv)
        #expect(decodedList.concluded(fileDefault: .license("GPL-2.0-only")) == list.concluded(fileDefault: .license("GPL-2.0-only")))
        let outside = [KbuildWalk.OutsideInput(file: "/usr/lib/x86_64-linux-gnu/libc.a", member: "printf.o"), KbuildWalk.OutsideInput(file: "/usr/lib/crt1.o")]
        #expect(try JSONDecoder().decode([KbuildWalk.OutsideInput].self, from: JSONEncoder().encode(outside)) == outside)
    }

    @Test func stampsShowAChangedOrMissingFileAndNothingElse() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("stamps-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let files = ["same.h", "edited.h", "touched.h", "removed.h"].map { root.appendingPathComponent($0) }
        for file in files { try "#define X 1\n".write(to: file, atomically: true, encoding: .utf8) }
        let text = FileStamps.text(of: Set(files.map(\.path)))
        #expect(FileStamps.changed(in: text).isEmpty)

        // Another file of the same size under the same name, within the same tick of the file clock: its inode differs.
        try "#define X 2\n".write(to: files[1], atomically: true, encoding: .utf8)
        // Same bytes, a later mtime (as a header rewritten by a build step): counted as changed.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: files[2].path)
        try FileManager.default.removeItem(at: files[3])
        #expect(FileStamps.changed(in: text) == [files[1], files[3], files[2]].map(\.path).sorted())
    }
}
