import Foundation

/// What every benchmark result names (Docs/performance.md): the machine, the commit and the date of the run.
public enum BenchmarkRun {
    /// CPU model, online CPUs and memory, from /proc and sysconf.
    public static var machine: String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let memory = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE))) / Double(1 << 30)
        return String(format: "%@, %d vCPUs, %.0f GiB", model, ProcessInfo.processInfo.activeProcessorCount, memory)
    }

    /// The commit measured (`git rev-parse --short HEAD`, "+dirty" with uncommitted changes to tracked files).
    public static var commit: String {
        func git(_ arguments: [String]) -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return "" }
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let head = git(["rev-parse", "--short", "HEAD"])
        return head.isEmpty ? "unknown" : head + (git(["status", "--porcelain", "--untracked-files=no"]).isEmpty ? "" : "+dirty")
    }

    /// Now, ISO 8601 in UTC.
    public static var date: String { ISO8601DateFormatter().string(from: Date()) }
}
