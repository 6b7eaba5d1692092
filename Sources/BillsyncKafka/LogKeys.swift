/// Metadata keys used in billsync's Kafka logs, in one place so dashboards can rely on them.
public enum LogKeys {
    public static let kafkaTopic = "kafka.topic"
    public static let kafkaPartition = "kafka.partition"
    public static let kafkaOffset = "kafka.offset"
    public static let kafkaGroup = "kafka.group"
    public static let kafkaClient = "kafka.client"
    public static let kafkaError = "kafka.error"
    public static let librdkafkaFacility = "librdkafka.facility"
}
