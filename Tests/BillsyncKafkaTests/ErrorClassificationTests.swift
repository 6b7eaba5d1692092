import CRdKafka
@testable import BillsyncKafka
import Testing

@Suite("Kafka errors say whether to retry")
struct ErrorClassificationTests {
    @Test("transport failures, timeouts and leader moves are retriable", arguments: [
        Int32(-195), // _TRANSPORT
        -185, // _TIMED_OUT
        -192, // _MSG_TIMED_OUT
        6, // NOT_LEADER_FOR_PARTITION
        7, // REQUEST_TIMED_OUT
        19, // NOT_ENOUGH_REPLICAS
    ])
    func retriable(code: Int32) {
        #expect(KafkaErrorClassification.isRetriable(code: code))
        #expect(!KafkaErrorClassification.isFatal(code: code))
    }

    @Test("authentication and fencing failures are fatal", arguments: [
        Int32(-150), // _FATAL
        -169, // _AUTHENTICATION
        58, // SASL_AUTHENTICATION_FAILED
        90, // PRODUCER_FENCED
    ])
    func fatal(code: Int32) {
        #expect(KafkaErrorClassification.isFatal(code: code))
        #expect(!KafkaErrorClassification.isRetriable(code: code))
    }

    @Test("an oversized message or a bad record is permanent: neither retriable nor fatal", arguments: [
        Int32(10), // MSG_SIZE_TOO_LARGE
        87, // INVALID_RECORD
        17, // INVALID_TOPIC_EXCEPTION
    ])
    func permanent(code: Int32) {
        #expect(!KafkaErrorClassification.isRetriable(code: code))
        #expect(!KafkaErrorClassification.isFatal(code: code))
    }

    @Test("an error's description names the code, the class and the reason")
    func descriptionIsReadable() {
        let error = KafkaError(code: rd_kafka_resp_err_t(7), context: "producing to bills")
        #expect(error.description.contains("REQUEST_TIMED_OUT"))
        #expect(error.description.contains("retriable"))
        #expect(error.description.contains("producing to bills"))
    }
}
