import Foundation
import Yams

extension SalesforceOrg {
    public struct ConfigurationError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads an org definition (see `Deploy/sandbox/salesforce-org.yaml`); a mistake names the
    /// object and field.
    public init(yaml: String) throws {
        guard let root = try Yams.load(yaml: yaml) as? [String: Any], let objects = root["objects"] as? [String: Any] else {
            throw ConfigurationError(description: "an org file needs a top-level 'objects' mapping")
        }
        var parsed: [Object] = []
        for (name, value) in objects.sorted(by: { $0.key < $1.key }) {
            guard let object = value as? [String: Any], let prefix = object["keyPrefix"].map({ "\($0)" }), prefix.count == 3,
                  let fields = object["fields"] as? [String: Any] else {
                throw ConfigurationError(description: "object \(name): needs a three-character keyPrefix and fields")
            }
            var list: [Field] = []
            for (fieldName, fieldValue) in fields.sorted(by: { $0.key < $1.key }) {
                guard let field = fieldValue as? [String: Any], let typeName = field["type"] as? String else {
                    throw ConfigurationError(description: "\(name).\(fieldName): needs a type")
                }
                let type: FieldType
                switch typeName {
                case "text":
                    guard let length = field["length"] as? Int, length > 0 else {
                        throw ConfigurationError(description: "\(name).\(fieldName): a text field needs a positive length")
                    }
                    type = .text(maxLength: length)
                case "email": type = .email
                case "phone": type = .phone
                case "currency": type = .currency
                case "number": type = .number
                case "date": type = .date
                case "checkbox": type = .checkbox
                default: throw ConfigurationError(description: "\(name).\(fieldName): unknown type \(typeName)")
                }
                list.append(Field(fieldName, type, required: field["required"] as? Bool ?? false,
                                  externalID: field["externalId"] as? Bool ?? false, unique: field["unique"] as? Bool ?? false))
            }
            var validation: (@Sendable ([String: SalesforceValue]) -> (message: String, fields: [String])?)?
            if let rule = object["validation"] as? [String: Any] {
                guard let field = rule["field"] as? String, let minimum = (rule["minimum"] as? NSNumber)?.doubleValue,
                      let message = rule["message"] as? String else {
                    throw ConfigurationError(description: "\(name).validation: needs field, minimum and message")
                }
                validation = { values in
                    if case let .number(value)? = values[field], value < minimum { return (message, [field]) }
                    return nil
                }
            }
            parsed.append(Object(name: name, keyPrefix: prefix, fields: list, validation: validation))
        }
        self.init(objects: parsed)
    }

    public init(contentsOf path: String) throws {
        try self.init(yaml: String(contentsOfFile: path, encoding: .utf8))
    }

    /// `GET …/sobjects/{Object}/describe`: the object's fields as Salesforce describes them.
    func describe(_ object: Object) -> [String: DescribeValue] {
        let fields: [DescribeValue] = object.fields.values.sorted { $0.name < $1.name }.map { field in
            let (type, length): (String, Int) = switch field.type {
            case let .text(maxLength): ("string", maxLength)
            case .email: ("email", 80)
            case .phone: ("phone", 40)
            case .currency: ("currency", 0)
            case .number: ("double", 0)
            case .date: ("date", 0)
            case .checkbox: ("boolean", 0)
            }
            return .object([
                "name": .text(field.name), "type": .text(type), "length": .number(length),
                "nillable": .bool(!field.required), "externalId": .bool(field.externalID), "unique": .bool(field.unique),
                "custom": .bool(field.name.hasSuffix("__c")), "createable": .bool(true), "updateable": .bool(true),
                "defaultedOnCreate": .bool(false),
            ])
        }
        return ["name": .text(object.name), "keyPrefix": .text(object.keyPrefix), "custom": .bool(object.name.hasSuffix("__c")),
                "fields": .array(fields)]
    }
}

indirect enum DescribeValue: Encodable {
    case text(String)
    case number(Int)
    case bool(Bool)
    case array([DescribeValue])
    case object([String: DescribeValue])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .text(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .bool(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }
}
