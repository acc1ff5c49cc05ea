// Loaded with --import into a benchmarked child process: reports its peak RSS and the CPU time
// it used (start-up included) on exit, since a parent cannot read a finished child's resource
// usage from Node.
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`\npeak_rss_kb=${u.maxRSS} cpu_us=${u.userCPUTime + u.systemCPUTime}\n`);
});
