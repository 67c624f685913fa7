export { startKafkaBroker, type KafkaBroker, type KafkaBrokerOptions } from './broker';
export { startBrokerProcess, type BrokerProcess } from './process';
export { kafkaTestTls, kafkaTlsFile } from './tls';
