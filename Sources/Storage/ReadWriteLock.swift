#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread read-write lock: many readers at once, or one writer.
final class ReadWriteLock: @unchecked Sendable {
    private let rwlock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        rwlock = .allocate(capacity: 1)
        rwlock.initialize(to: pthread_rwlock_t())
        let status = pthread_rwlock_init(rwlock, nil)
        precondition(status == 0, "pthread_rwlock_init failed: \(status)")
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    func lockRead() { pthread_rwlock_rdlock(rwlock) }
    func lockWrite() { pthread_rwlock_wrlock(rwlock) }
    func unlock() { pthread_rwlock_unlock(rwlock) }

    func withReadLock<R>(_ body: () throws -> R) rethrows -> R {
        lockRead()
        defer { unlock() }
        return try body()
    }

    func withWriteLock<R>(_ body: () throws -> R) rethrows -> R {
        lockWrite()
        defer { unlock() }
        return try body()
    }
}
