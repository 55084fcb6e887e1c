extension DeviceTreeBlob {
    /// Fills in `/chosen`, creating it if missing: the kernel command line, the console, and where the
    /// boot loader put the initramfs (`initrd` is start..<end, end exclusive as Linux expects). The initrd
    /// addresses take the width the root's `#address-cells` gives them: one cell or two.
    public mutating func setChosen(bootargs: String?, stdoutPath: String?, initrd: Range<UInt64>? = nil) throws {
        let chosen = "/chosen"
        try addNode(at: chosen, createParents: true)
        if let bootargs {
            try setProperty("bootargs", .string(bootargs), at: chosen)
        }
        if let stdoutPath {
            try setProperty("stdout-path", .string(stdoutPath), at: chosen)
        }
        guard let initrd else { return }
        let bounds = [("linux,initrd-start", initrd.lowerBound), ("linux,initrd-end", initrd.upperBound)]
        switch try addressCells(at: "/") {
        case 1:
            for (name, address) in bounds {
                guard let cell = UInt32(exactly: address) else {
                    throw DeviceTreeError(operation: "set", nodePath: chosen, property: name,
                                          message: "\(hex(address)) does not fit in the root's #address-cells = <1>")
                }
                try setProperty(name, .u32([cell]), at: chosen)
            }
        case 2:
            for (name, address) in bounds {
                try setProperty(name, .u64([address]), at: chosen)
            }
        case let cells:
            throw DeviceTreeError(operation: "set", nodePath: chosen, property: bounds[0].0,
                                  message: "the root's #address-cells = <\(cells)> is neither 1 nor 2")
        }
    }
}
